#include "guard_inspection.hpp"

#include <algorithm>
#include <charconv>
#include <string_view>

#include "guard/guard_catalog.hpp"
#include "pgclient/sql_text.hpp"

namespace uniqguard::app::check {

namespace asio = boost::asio;
using pgclient::Error;
using pgclient::QueryResult;
using pgclient::Result;
using Params = std::vector<std::optional<std::string>>;

namespace {

// The relation a guard names: schema-qualified as written, else the first match along the
// session's search_path (pg_catalog and pg_temp included, as the server resolves names); found
// with the proxy's own queries (guard/guard_catalog.hpp), so that check and serve agree.
using guard::resolve_table_sql;
using guard::similar_table_sql;

std::string column_sql(int version) {
    const std::string deterministic =
        version >= 120000 ? "coalesce(co.collisdeterministic, true)" : "true";
    return R"(
SELECT a.attnum::text, pg_catalog.format_type(a.atttypid, a.atttypmod), a.atttypid::text,
       a.attnotnull,
       CASE WHEN a.attcollation = 0 THEN NULL
            WHEN cn.nspname = 'pg_catalog' THEN format('%I', co.collname)
            ELSE format('%I.%I', cn.nspname, co.collname) END,
       )" + deterministic +
           R"(
FROM pg_catalog.pg_attribute a
LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
WHERE a.attrelid = $1::oid AND a.attname = $2::text AND a.attnum > 0 AND NOT a.attisdropped)";
}

std::string index_sql(int version) {
    const std::string key_count = version >= 110000 ? "i.indnkeyatts" : "i.indnatts";
    const std::string nulls_not_distinct = version >= 150000 ? "i.indnullsnotdistinct" : "false";
    return R"(
SELECT format('%I', ic.relname), am.amname, i.indisunique, i.indisprimary,
       coalesce(con.contype::text, ''), )" +
           key_count + R"(::text, i.indkey::text,
       i.indpred IS NOT NULL, coalesce(pg_catalog.pg_get_expr(i.indpred, i.indrelid), ''),
       i.indisvalid, i.indimmediate, )" +
           nulls_not_distinct + R"(
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_am am ON am.oid = ic.relam
LEFT JOIN pg_catalog.pg_constraint con
       ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u')
WHERE i.indrelid = $1::oid
ORDER BY ic.relname)";
}

// A function that names the table in its source ($2: ILIKE pattern, $3: whole-word regex), or
// that the server records as depending on it (SQL functions with BEGIN ATOMIC bodies).
constexpr std::string_view function_names_table = R"(
     ((p.prosrc ILIKE $2::text AND p.prosrc ~* $3::text)
      OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                 WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid
                   AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = $1::oid)))";

std::string trigger_sql() {
    return R"(
SELECT format('%I', t.tgname), format('%I.%I', n.nspname, c.relname),
       format('%I.%I(%s)', pn.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid))
FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
WHERE NOT t.tgisinternal AND t.tgrelid <> $1::oid AND)" +
           std::string(function_names_table) + R"(
ORDER BY 2, 1)";
}

std::string function_sql(int version) {
    const std::string kind = version >= 110000 ? "p.prokind::text" : "'f'";
    return R"(
SELECT format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)),
       )" + kind +
           R"(
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_language l ON l.oid = p.prolang
WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
  AND l.lanname NOT IN ('c', 'internal') AND)" +
           std::string(function_names_table) + R"(
ORDER BY 1)";
}

// Relations with a rewrite rule that depends on the table: views over it (and views over those
// views), and rules of other relations whose actions name it.
constexpr std::string_view rule_sql = R"(
WITH RECURSIVE dependents(relid, rulename, evtype, depth) AS (
    SELECT r.ev_class, r.rulename, r.ev_type, 1
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid
    WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass
      AND d.refclassid = 'pg_catalog.pg_class'::regclass
      AND d.refobjid = $1::oid AND r.ev_class <> $1::oid
  UNION
    SELECT r.ev_class, r.rulename, r.ev_type, dep.depth + 1
    FROM dependents dep
    JOIN pg_catalog.pg_class v ON v.oid = dep.relid AND v.relkind = 'v'
    JOIN pg_catalog.pg_depend d ON d.refobjid = dep.relid
     AND d.classid = 'pg_catalog.pg_rewrite'::regclass
     AND d.refclassid = 'pg_catalog.pg_class'::regclass
    JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid AND r.ev_class <> dep.relid
    WHERE dep.rulename = '_RETURN' AND dep.depth < 16
)
SELECT DISTINCT format('%I.%I', n.nspname, c.relname), c.relkind::text,
       dep.rulename = '_RETURN', format('%I', dep.rulename), dep.evtype::text,
       pg_catalog.pg_relation_is_updatable(c.oid, true)::text
FROM dependents dep
JOIN pg_catalog.pg_class c ON c.oid = dep.relid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
ORDER BY 1, 4)";

// Partitions and inheritance children of the table, and its parents, each with whether the
// child of that link is a partition (declarative) or an inheritance child.
constexpr std::string_view inheritance_sql = R"(
WITH RECURSIVE down(relid, is_partition, depth) AS (
    SELECT i.inhrelid, c.relispartition, 1
    FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = $1::oid
  UNION ALL
    SELECT i.inhrelid, c.relispartition, down.depth + 1
    FROM down JOIN pg_catalog.pg_inherits i ON i.inhparent = down.relid
    JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
    WHERE down.depth < 64
), up(relid, is_partition, depth) AS (
    SELECT i.inhparent, c.relispartition, 1
    FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
    WHERE i.inhrelid = $1::oid
  UNION ALL
    SELECT i.inhparent, c.relispartition, up.depth + 1
    FROM up JOIN pg_catalog.pg_inherits i ON i.inhrelid = up.relid
    JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
    WHERE up.depth < 64
)
SELECT 'down', format('%I.%I', n.nspname, c.relname), x.is_partition
FROM down x JOIN pg_catalog.pg_class c ON c.oid = x.relid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
UNION ALL
SELECT 'up', format('%I.%I', n.nspname, c.relname), x.is_partition
FROM up x JOIN pg_catalog.pg_class c ON c.oid = x.relid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
ORDER BY 1, 2)";

// Foreign keys of the table whose referential actions write its columns.
constexpr std::string_view foreign_key_sql = R"(
SELECT format('%I', con.conname), format('%I.%I', n.nspname, c.relname),
       con.confupdtype::text, con.confdeltype::text, con.conkey::text
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.confrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE con.conrelid = $1::oid AND con.contype = 'f'
ORDER BY 1)";

// Parameters for query_params. Not a braced list: GCC 12 miscompiles an initializer_list
// whose lifetime spans a co_await ("array used as initializer").
template <typename... Texts>
Params params(const Texts&... texts) {
    Params out;
    out.reserve(sizeof...(texts));
    (out.emplace_back(texts), ...);
    return out;
}

std::string text(const QueryResult& r, std::size_t row, std::size_t column) {
    if (row >= r.rows.size() || column >= r.rows[row].size() || !r.rows[row][column]) return {};
    return *r.rows[row][column];
}

bool flag(const QueryResult& r, std::size_t row, std::size_t column) {
    return text(r, row, column) == "t";
}

std::uint64_t number(const QueryResult& r, std::size_t row, std::size_t column) {
    const std::string s = text(r, row, column);
    std::uint64_t value = 0;
    std::from_chars(s.data(), s.data() + s.size(), value);
    return value;
}

std::string relkind_problem(const std::string& kind) {
    if (kind == "r" || kind == "p" || kind == "f") return {};
    if (kind == "v") return "is a view, not a table";
    if (kind == "m") return "is a materialized view, not a table";
    if (kind == "S") return "is a sequence, not a table";
    if (kind == "i" || kind == "I") return "is an index, not a table";
    return "is not a table (relkind " + kind + ")";
}

// pg_rewrite.ev_type: '1' SELECT, '2' UPDATE, '3' INSERT, '4' DELETE.
std::string rule_event(const std::string& code) {
    if (code == "2") return "UPDATE";
    if (code == "3") return "INSERT";
    if (code == "4") return "DELETE";
    return "SELECT";
}

std::string referential_action(char code) {
    switch (code) {
        case 'c':
            return "CASCADE";
        case 'n':
            return "SET NULL";
        case 'd':
            return "SET DEFAULT";
        default:
            return {};
    }
}

// The count of rows, keys and duplicate groups in one scan, grouped by the server with the
// columns' own equality. Identifiers are double-quoted; nothing else comes from the config.
std::string counts_sql(const std::string& table, const std::vector<std::string>& quoted_columns,
                       bool nulls_distinct) {
    std::string group_by, any_null;
    for (const auto& c : quoted_columns) {
        group_by += (group_by.empty() ? "" : ", ") + c;
        any_null += (any_null.empty() ? "" : " OR ") + c + " IS NULL";
    }
    // With nulls_distinct, a key holding a NULL is never a duplicate (as a unique index);
    // without, GROUP BY's NULL-equals-NULL is exactly NULLS NOT DISTINCT.
    const std::string key = nulls_distinct ? " AND NOT g.uq_null" : "";
    return "SELECT coalesce(sum(g.uq_n), 0),"
           " count(*) FILTER (WHERE true" +
           key +
           "),"
           " coalesce(sum(g.uq_n) FILTER (WHERE g.uq_null), 0),"
           " count(*) FILTER (WHERE g.uq_n > 1" +
           key +
           "),"
           " coalesce(sum(g.uq_n) FILTER (WHERE g.uq_n > 1" +
           key +
           "), 0)"
           " FROM (SELECT count(*) AS uq_n, (" +
           any_null + ") AS uq_null FROM " + table + " GROUP BY " + group_by + ") AS g";
}

}  // namespace

asio::awaitable<Result<GuardReport>> inspect_guard(pgclient::PgConnection& conn,
                                                   const config::Guard& guard,
                                                   int server_version_num) {
    GuardReport report;
    report.name = guard.name;
    report.configured_table = guard.table;
    report.configured_columns = guard.columns;
    report.nulls_distinct = guard.nulls_distinct;

    const auto dot = guard.table.find('.');
    const std::string schema = dot == std::string::npos ? "" : guard.table.substr(0, dot);
    const std::string table = dot == std::string::npos ? guard.table : guard.table.substr(dot + 1);

    auto resolved = co_await conn.query_params(resolve_table_sql, params(schema, table));
    if (!resolved) co_return resolved.error();
    if (resolved->rows.empty()) {
        report.table_problem = "does not exist";
        auto similar = co_await conn.query_params(similar_table_sql, params(schema, table));
        if (!similar) co_return similar.error();
        if (!similar->rows.empty())
            report.table_hint = "did you mean " + text(*similar, 0, 0) + "?";
        co_return report;
    }
    const std::string oid = text(*resolved, 0, 0);
    report.table = text(*resolved, 0, 1);
    const std::string relkind = text(*resolved, 0, 2);
    report.table_problem = relkind_problem(relkind);
    if (!report.table_problem.empty()) co_return report;
    if (relkind == "p") report.table_kind = "partitioned";
    if (relkind == "f") report.table_kind = "foreign table";
    const std::string qualified_table =
        pgclient::quote_qualified(text(*resolved, 0, 3), text(*resolved, 0, 4));

    // Key columns.
    std::vector<KeyColumn> key;
    std::vector<std::string> quoted_columns;
    bool all_found = true;
    const std::string column_query = column_sql(server_version_num);
    for (const auto& name : guard.columns) {
        ColumnReport column;
        column.name = name;
        auto found = co_await conn.query_params(column_query, params(oid, name));
        if (!found) co_return found.error();
        if (found->rows.empty()) {
            all_found = false;
        } else {
            column.found = true;
            column.attnum = static_cast<int>(number(*found, 0, 0));
            column.type = text(*found, 0, 1);
            column.not_null = flag(*found, 0, 3);
            if (found->rows[0][4]) column.collation = *found->rows[0][4];
            column.deterministic = flag(*found, 0, 5);
            key.push_back({column.attnum, column.not_null});
            quoted_columns.push_back(pgclient::quote_identifier(name));
        }
        report.columns.push_back(std::move(column));
    }

    // Rows, keys and duplicates, counted by the server.
    if (all_found) {
        auto counted = co_await conn.simple_query(
            counts_sql(qualified_table, quoted_columns, guard.nulls_distinct));
        if (!counted) {
            if (!counted.error().is_server()) co_return counted.error();
            report.counts_error = counted.error().describe();
        } else if (!counted->empty()) {
            const QueryResult& r = counted->front();
            report.counts = Counts{.rows = number(r, 0, 0),
                                   .distinct_keys = number(r, 0, 1),
                                   .null_rows = number(r, 0, 2),
                                   .duplicate_groups = number(r, 0, 3),
                                   .duplicate_rows = number(r, 0, 4)};
        }

        auto indexes = co_await conn.query_params(index_sql(server_version_num), params(oid));
        if (!indexes) co_return indexes.error();
        std::vector<IndexFacts> facts;
        for (std::size_t i = 0; i < indexes->rows.size(); ++i) {
            IndexFacts f;
            f.name = text(*indexes, i, 0);
            f.method = text(*indexes, i, 1);
            f.unique = flag(*indexes, i, 2);
            f.primary = flag(*indexes, i, 3);
            const std::string constraint = text(*indexes, i, 4);
            f.constraint = constraint.empty() ? 0 : constraint[0];
            const auto key_count = number(*indexes, i, 5);
            auto columns =
                pgclient::parse_int_vector(text(*indexes, i, 6)).value_or(std::vector<int>{});
            if (columns.size() > key_count) columns.resize(key_count);  // INCLUDE columns
            f.key_columns = std::move(columns);
            f.partial = flag(*indexes, i, 7);
            f.predicate = text(*indexes, i, 8);
            f.valid = flag(*indexes, i, 9);
            f.immediate = flag(*indexes, i, 10);
            f.nulls_not_distinct = flag(*indexes, i, 11);
            facts.push_back(std::move(f));
        }
        report.indexes = classify_indexes(facts, key, guard.nulls_distinct);
    }

    // Writers the proxy does not see: they change the table without a statement naming it.
    std::vector<std::string> writers;
    const Params name_patterns = params(oid, pgclient::like_contains_pattern(text(*resolved, 0, 4)),
                                        pgclient::identifier_word_regex(text(*resolved, 0, 4)));

    auto triggers = co_await conn.query_params(trigger_sql(), name_patterns);
    if (!triggers) co_return triggers.error();
    for (std::size_t i = 0; i < triggers->rows.size(); ++i) {
        writers.push_back("trigger " + text(*triggers, i, 0) + " on " + text(*triggers, i, 1) +
                          " (function " + text(*triggers, i, 2) + ")");
    }

    auto rules = co_await conn.query_params(rule_sql, params(oid));
    if (!rules) co_return rules.error();
    for (std::size_t i = 0; i < rules->rows.size(); ++i) {
        const std::string relation = text(*rules, i, 0);
        const std::string kind = text(*rules, i, 1);
        const bool view_query = flag(*rules, i, 2);
        const std::string event = text(*rules, i, 4);
        if (view_query) {
            if (kind != "v") continue;  // a materialized view only reads
            // pg_relation_is_updatable: a mask of 1 << CMD_UPDATE (4), CMD_INSERT (8), CMD_DELETE.
            const auto events = number(*rules, i, 5);
            std::vector<std::string> writes;
            if (events & 8) writes.push_back("INSERT");
            if (events & 4) writes.push_back("UPDATE");
            if (writes.empty()) continue;
            std::string joined;
            for (const auto& w : writes) joined += (joined.empty() ? "" : ", ") + w;
            writers.push_back("updatable view " + relation + " (" + joined + ")");
        } else if (event != "1") {
            writers.push_back("rule " + text(*rules, i, 3) + " on " + relation + " (ON " +
                              rule_event(event) + ")");
        }
    }

    auto family = co_await conn.query_params(inheritance_sql, params(oid));
    if (!family) co_return family.error();
    for (std::size_t i = 0; i < family->rows.size(); ++i) {
        const bool down = text(*family, i, 0) == "down";
        const bool partition = flag(*family, i, 2);
        const std::string relation = text(*family, i, 1);
        if (down) {
            writers.push_back((partition ? "partition " : "inheritance child ") + relation);
        } else {
            writers.push_back(
                partition ? "partitioned table " + relation + " (rows inserted there land here)"
                          : "inheritance parent " + relation + " (its UPDATEs reach this table)");
        }
    }

    auto foreign_keys = co_await conn.query_params(foreign_key_sql, params(oid));
    if (!foreign_keys) co_return foreign_keys.error();
    for (std::size_t i = 0; i < foreign_keys->rows.size(); ++i) {
        const auto columns =
            pgclient::parse_int_array(text(*foreign_keys, i, 4)).value_or(std::vector<int>{});
        std::vector<std::string> rewritten;
        for (const auto& column : report.columns) {
            if (column.found &&
                std::find(columns.begin(), columns.end(), column.attnum) != columns.end()) {
                rewritten.push_back(column.name);
            }
        }
        if (rewritten.empty()) continue;
        std::vector<std::string> actions;
        const std::string on_update = text(*foreign_keys, i, 2);
        const std::string on_delete = text(*foreign_keys, i, 3);
        // SET NULL only makes duplicates when NULLs compare equal; DELETE CASCADE removes rows.
        auto writes = [&](char code) {
            return code == 'c' || code == 'd' || (code == 'n' && !guard.nulls_distinct);
        };
        if (!on_update.empty() && writes(on_update[0])) {
            actions.push_back("ON UPDATE " + referential_action(on_update[0]));
        }
        if (!on_delete.empty() && on_delete[0] != 'c' && writes(on_delete[0])) {
            actions.push_back("ON DELETE " + referential_action(on_delete[0]));
        }
        if (actions.empty()) continue;
        std::string joined_actions, joined_columns;
        for (const auto& a : actions) joined_actions += (joined_actions.empty() ? "" : ", ") + a;
        for (const auto& c : rewritten) joined_columns += (joined_columns.empty() ? "" : ", ") + c;
        writers.push_back("foreign key " + text(*foreign_keys, i, 0) + " to " +
                          text(*foreign_keys, i, 1) + ": " + joined_actions + " rewrites " +
                          joined_columns);
    }

    auto functions = co_await conn.query_params(function_sql(server_version_num), name_patterns);
    if (!functions) co_return functions.error();
    for (std::size_t i = 0; i < functions->rows.size(); ++i) {
        writers.push_back((text(*functions, i, 1) == "p" ? "procedure " : "function ") +
                          text(*functions, i, 0));
    }
    if (relkind == "f") writers.push_back("the foreign server behind " + report.table);

    report.writers = std::move(writers);
    co_return report;
}

}  // namespace uniqguard::app::check
