// The SQL of audit and dedupe, for both servers. Everything is computed on the server: the
// duplicate groups by GROUP BY ... HAVING COUNT(*) > 1, so equality is the server's own (the
// column's type and collation, _ci and PAD SPACE included), exactly as its unique index would
// judge. Only the rows of duplicate groups ever leave the server, one at a time.
//
// The group source ("x" below) is a derived table with every column of the table, the group
// number `uniqguard_g` (1, 2, ... in key order) and, for PostgreSQL without a primary key,
// `uniqguard_ctid`:
//   - keys with a NULL never conflict (the default): the groups come from GROUP BY over the
//     rows whose key has no NULL, joined back to the table by `=` on every key column (a hash
//     join: one pass over the table for the groups, one for their rows);
//   - nulls_distinct = false (PostgreSQL's NULLS NOT DISTINCT): `=` cannot match NULLs and
//     IS NOT DISTINCT FROM cannot be hashed, so the groups come from window functions over the
//     whole table (DENSE_RANK and COUNT(*) OVER the key, whose peers treat NULLs as equal).
#pragma once

#include <optional>
#include <string>

#include "table_info.hpp"
#include "tool_db.hpp"

namespace uniqguard::app::audit {

// Which row of a group comes first (and is kept by dedupe): smallest identity (oldest) or
// largest (newest); with --order-by, by that column first (NULLs last either way), ties broken
// by the identity in the same direction.
struct RowOrder {
    std::optional<std::string> order_by;  // catalog spelling
    bool newest = false;
};

class DuplicateSql {
  public:
    DuplicateSql(const ToolDb& db, const TableInfo& table, bool nulls_distinct, RowOrder order);

    // Columns: group number, the key columns, the identity columns; ordered by group, then
    // rows in RowOrder (the first row of each group is the one dedupe keeps).
    std::string duplicate_rows() const;
    // Columns: uniqguard_i1..n (identity of a row to remove), uniqguard_k1..n (identity of the
    // row kept in its group), uniqguard_rn. One row per row to remove.
    std::string doomed_rows() const;
    // One row, one column: the number of duplicate groups left in the table.
    std::string remaining_groups() const;
    // The number of rows of the table referenced through `fk` by rows of `doomed` (a table
    // name, or "(SELECT ...)" of doomed_rows()).
    std::string references_count(const ForeignKeyRef& fk, const std::string& doomed) const;
    // Moves references through `fk` from each doomed row to its group's kept row.
    std::string repoint(const ForeignKeyRef& fk, const std::string& doomed) const;
    // INSERT INTO quarantine (columns..., quarantined_at, guard) the doomed rows.
    std::string copy_to_quarantine(const std::string& quarantine_sql, const std::string& guard,
                                   const std::string& doomed) const;
    std::string delete_doomed(const std::string& doomed) const;
    // CREATE TABLE IF NOT EXISTS quarantine: the table's columns (no constraints, no
    // defaults), plus quarantined_at and guard.
    std::string create_quarantine(const std::string& quarantine_sql) const;

  private:
    std::string q(const std::string& name) const { return db_.quote_identifier(name); }
    std::string source() const;  // the group source, aliased x
    std::string identity(const std::string& alias, std::size_t i) const;
    std::string row_order(const std::string& alias) const;
    std::string not_null(const std::string& alias) const;
    std::string key_list(const std::string& alias) const;
    std::string identity_match(const std::string& alias, const std::string& doomed,
                               const std::string& prefix) const;

    const ToolDb& db_;
    const TableInfo& t_;
    bool nulls_distinct_;
    RowOrder order_;
};

}  // namespace uniqguard::app::audit
