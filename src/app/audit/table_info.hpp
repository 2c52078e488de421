// What audit and dedupe need to know about a guard's table, read from the server's catalog:
// its columns (for the quarantine copy), the key columns as the catalog spells them, how a row
// is identified (the primary key; PostgreSQL's ctid or MySQL's --order-by unique column when
// there is none), whether the engine is transactional, and the foreign keys that point at it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "tool_db.hpp"

namespace uniqguard::app::audit {

struct ForeignKeyRef {
    std::string name;                     // the constraint's name
    std::string table_display;            // "schema.table" of the referencing table
    std::string table_sql;                // the same, quoted for SQL
    std::vector<std::string> columns;     // referencing columns
    std::vector<std::string> referenced;  // the guarded table's columns they point at
};

struct TableInfo {
    std::string display;                // "schema.table", unquoted
    std::string sql;                    // the same, quoted for SQL
    std::string schema;                 // unquoted
    std::string name;                   // unquoted
    std::vector<std::string> columns;   // every column, table order
    std::vector<std::string> key;       // the guard's key columns, catalog spelling
    std::vector<std::string> identity;  // primary key columns, or one unique column; empty:
                                        // rows cannot be named (MySQL without a primary key)
    bool identity_is_ctid = false;      // PostgreSQL without a primary key: identity = {"ctid"}
    bool identity_is_primary_key = false;
    bool partitioned = false;             // PostgreSQL relkind 'p'
    std::optional<std::string> order_by;  // --order-by, catalog spelling
    bool transactional = true;            // MySQL: the engine supports transactions
    std::string engine;                   // MySQL: ENGINE; PostgreSQL: empty
    std::vector<ForeignKeyRef> referenced_by;
    std::int64_t estimated_rows = -1;  // for progress only
};

// Column names as the server compares them: PostgreSQL exactly (the catalog's spelling),
// MySQL case-insensitively.
bool same_column_name(Flavour flavour, const std::string& a, const std::string& b);

// Reads the table a guard names. `order_by` (dedupe --order-by), when given, must be a column
// of the table; on MySQL a table without a primary key takes it as the row identity, which
// needs a NOT NULL column with a single-column unique index. Throws DbError with a readable
// reason (missing table or column, unsupported relation kind).
TableInfo describe_table(ToolDb& db, const config::Guard& guard, const std::string& database,
                         const std::optional<std::string>& order_by);

}  // namespace uniqguard::app::audit
