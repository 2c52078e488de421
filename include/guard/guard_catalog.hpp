// What the catalog says about one guard's table (SPEC §2 [[guard]], §4): the table the config
// names, resolved as the proxy's own account resolves it; its columns in the order an INSERT
// without a column list fills them; the key columns with the types the key layer compares; and
// whether a real unique index already enforces the key (the migration has landed).
//
// The rules are those of `uniqguard check` (src/app/check/guard_inspection.cpp), so that `check`
// and `serve` agree: an unqualified table is the first match along the account's search_path
// (pg_catalog and pg_temp included, as the server resolves names); names are compared as the
// catalog has them (case-sensitive, unquoted); a key column's type must be one that
// column_type_from_catalog accepts, under a deterministic collation. One difference: a domain
// over a comparable type is accepted here, compared as its base type with the base type's
// modifier (a domain's CHECK changes validity, never equality), where check today judges the
// domain's own name and refuses it.
//
// Configured names reach the server only as query parameters.
#pragma once

#include <boost/asio.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "guard/column_type.hpp"
#include "pgclient/connection.hpp"
#include "pgclient/result.hpp"

namespace uniqguard::guard {

// The catalog queries that find a guard's table ($1 schema or '', $2 name), shared with `uniqguard
// check` so that both resolve a name the same way. Columns: oid, format('%I.%I'), relkind,
// schema, name, reltuples, server_version_num.
inline constexpr std::string_view resolve_table_sql = R"(
SELECT c.oid::text, format('%I.%I', n.nspname, c.relname), c.relkind::text, n.nspname, c.relname,
       c.reltuples::bigint::text, pg_catalog.current_setting('server_version_num')
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname = $2::text
  AND CASE WHEN $1::text = '' THEN n.nspname = ANY (pg_catalog.current_schemas(true))
           ELSE n.nspname = $1::text END
ORDER BY pg_catalog.array_position(pg_catalog.current_schemas(true), n.nspname)
LIMIT 1)";

// The same name in another letter case, for a hint.
inline constexpr std::string_view similar_table_sql = R"(
SELECT format('%I.%I', n.nspname, c.relname)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE lower(c.relname) = lower($2::text) AND c.relkind IN ('r', 'p', 'f')
  AND CASE WHEN $1::text = '' THEN n.nspname = ANY (pg_catalog.current_schemas(true))
           ELSE lower(n.nspname) = lower($1::text) END
ORDER BY 1
LIMIT 1)";

struct TableColumn {
    std::string name;       // attname, unquoted
    std::string type_name;  // format_type(atttypid, atttypmod): "integer", "character varying(20)"
    std::uint32_t type_oid = 0;  // atttypid (a domain's own oid for a domain column)
    bool not_null = false;
    bool has_default = false;  // atthasdef (a DEFAULT, or a generated column's expression)
    bool generated = false;    // GENERATED ALWAYS AS (...) STORED, or GENERATED ALWAYS AS IDENTITY
    char identity = 0;         // attidentity: 0 (none), 'a' (ALWAYS), 'd' (BY DEFAULT)
};

struct GuardTable {
    std::uint32_t oid = 0;
    std::string schema, name;   // resolved, unquoted
    std::string qualified_sql;  // format('%I.%I', schema, name): for SQL text
    // pg_class.relkind: 'r' table, 'p' partitioned table, 'f' foreign table (nothing else is
    // accepted).
    char kind = 'r';
    // pg_class.reltuples: the planner's row estimate; -1 when never vacuumed or analyzed. For
    // progress and KeySet::reserve, never for correctness.
    std::int64_t estimated_rows = -1;
    // attnum order, dropped columns skipped: what an INSERT without a column list fills.
    std::vector<TableColumn> columns;
    // Indexes into `columns`, in the guard's column order.
    std::vector<std::size_t> key_columns;
    // column_type_from_catalog of each key column (of its base type for a domain), in the same
    // order as key_columns.
    std::vector<ColumnType> key_types;
    // A real unique index enforces the key now: unique, valid, not partial, no expression
    // columns, on the key columns or a subset of them, and NULL semantics at least as strict as
    // the guard's (nulls_distinct, or NULLS NOT DISTINCT, or every index column NOT NULL). A
    // DEFERRABLE unique constraint counts (as in check). Same rule as check's classify_indexes.
    bool has_unique_index_on_key = false;
    // The names of those indexes, quoted as the server quotes them (format('%I')).
    std::vector<std::string> enforcing_indexes;
    // A PRIMARY KEY or UNIQUE constraint of the table that `ON CONFLICT ON CONSTRAINT` can name
    // (not deferrable; the primary key when there is one), quoted as format('%I'); empty when
    // none. A prepared upsert on the guard's key is parsed naming it (PgGuard::on_parse).
    std::string conflict_constraint;

    // The key column names in guard order.
    std::vector<std::string> key_column_names() const;
};

// Resolves `guard.table` and `guard.columns` on `conn` (the proxy's own account; its
// search_path resolves an unqualified name).
//
// Errors, told apart by Error::kind:
//   - Error::Kind::client: the guard itself cannot be enforced on this table, with a readable
//     message naming the table and column: the table does not exist (with a "did you mean" when
//     the name exists in another letter case), is not a table (view, sequence, ...), a column
//     does not exist, a key column's type is one the proxy cannot compare, or its collation is
//     nondeterministic. Permanent until the schema or the config changes (`check` exits 1;
//     `serve` refuses the guard). The messages do not name the guard: callers prefix it.
//   - Error::Kind::server / connection: the catalog could not be read (permission, connection
//     lost); the connection error closes `conn`. Transient: retry.
// The connection's session settings are left unchanged.
boost::asio::awaitable<pgclient::Result<GuardTable>> load_guard_table(pgclient::PgConnection& conn,
                                                                      const config::Guard& guard);

}  // namespace uniqguard::guard
