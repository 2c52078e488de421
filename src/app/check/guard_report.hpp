// What `uniqguard check` finds out about one guard, and how it is printed. Plain data and pure
// functions: the catalog queries that fill it are in guard_inspection.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace uniqguard::app::check {

// Key types whose equality the proxy reproduces (SPEC §4): whatever the guard's key layer
// accepts (guard::column_type_from_catalog), so `check` and `serve` can never disagree.
// The collation is judged separately (ColumnReport::deterministic).
bool is_comparable_type(std::string_view format_type_name);

struct ColumnReport {
    std::string name;  // as configured
    bool found = false;
    int attnum = 0;
    std::string type;  // format_type(): "integer", "character varying(40)"
    bool not_null = false;
    std::optional<std::string> collation;  // quoted as the server quotes it; none: not collatable
    bool deterministic = true;
};

struct Counts {
    std::uint64_t rows = 0;
    std::uint64_t distinct_keys = 0;
    std::uint64_t null_rows = 0;  // rows with a NULL in at least one key column
    std::uint64_t duplicate_groups = 0;
    std::uint64_t duplicate_rows = 0;  // rows in those groups
};

// One index of the table, as pg_index describes it.
struct IndexFacts {
    std::string name;    // quoted as the server quotes it
    std::string method;  // pg_am.amname
    bool unique = false;
    bool primary = false;
    char constraint = 0;           // 'p', 'u', or 0 for a bare index
    std::vector<int> key_columns;  // attnums of the key part (0: an expression)
    bool partial = false;
    std::string predicate;  // pg_get_expr of the WHERE clause
    bool valid = true;
    bool immediate = true;  // false: a DEFERRABLE constraint
    bool nulls_not_distinct = false;
};

struct KeyColumn {
    int attnum = 0;
    bool not_null = false;
};

struct IndexVerdicts {
    std::vector<std::string> enforcing;    // "name" or "name (primary key, ...)"
    std::vector<std::string> not_counted;  // "name: why not"
    std::vector<std::string> covering;     // names
};

// Which indexes enforce the key (unique, valid, not partial, on the key columns or a subset of
// them, NULL semantics at least as strict as the guard's), which unique indexes on the key do
// not count and why, and which indexes have the key columns as their leading columns.
IndexVerdicts classify_indexes(const std::vector<IndexFacts>& indexes,
                               const std::vector<KeyColumn>& key, bool nulls_distinct);

struct GuardReport {
    std::string name;
    std::string configured_table;
    std::vector<std::string> configured_columns;
    bool nulls_distinct = true;

    std::string table;          // resolved, "schema.table"; empty when not found
    std::string table_kind;     // "", "partitioned", "foreign table"
    std::string table_problem;  // non-empty: the guard cannot be enforced on it
    std::string table_hint;     // "did you mean ..."
    std::vector<ColumnReport> columns;

    std::optional<Counts> counts;
    std::string counts_error;  // why the table could not be counted
    std::optional<IndexVerdicts> indexes;
    std::optional<std::vector<std::string>> writers;

    // Why the guard cannot be enforced; empty when it can.
    std::vector<std::string> problems() const;
};

// The readable block for one guard, ending with a newline.
std::string render(const GuardReport& report);

}  // namespace uniqguard::app::check
