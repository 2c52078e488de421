#include "guard/guard_catalog.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <set>
#include <string_view>

#include "pgclient/sql_text.hpp"

namespace uniqguard::guard {

namespace asio = boost::asio;
using pgclient::Error;
using pgclient::QueryResult;
using pgclient::Result;
using Params = std::vector<std::optional<std::string>>;

namespace {

// The relation a guard names: schema-qualified as written, else the first match along the
// session's search_path (pg_catalog and pg_temp included, as the server resolves names). As in
// check (guard_inspection.cpp), so both resolve the same relation.
constexpr std::string_view search_path_sql =
    "SELECT pg_catalog.array_to_string(pg_catalog.current_schemas(false), ', ')";

// Every live column in attnum order, with the base type of a domain (walking domains over
// domains: a domain's typtypmod is the modifier of its base type).
std::string columns_sql(int version) {
    const std::string deterministic =
        version >= 120000 ? "coalesce(co.collisdeterministic, true)" : "true";
    const std::string generated = version >= 120000 ? "a.attgenerated::text <> ''" : "false";
    const std::string identity = version >= 100000 ? "a.attidentity::text" : "''";
    return R"(
WITH RECURSIVE base(attnum, typ, typmod, depth) AS (
    SELECT a.attnum, a.atttypid, a.atttypmod, 0
    FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
    SELECT b.attnum, t.typbasetype, t.typtypmod, b.depth + 1
    FROM base b JOIN pg_catalog.pg_type t ON t.oid = b.typ
    WHERE t.typtype = 'd' AND b.depth < 32
), deepest AS (
    SELECT DISTINCT ON (attnum) attnum, typ, typmod FROM base ORDER BY attnum, depth DESC
)
SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.atttypid::text,
       a.attnum::text,
       a.attnotnull, a.atthasdef, )" +
           generated + " OR " + identity + " = 'a', " + identity + R"(,
       pg_catalog.format_type(d.typ, d.typmod), d.typ <> a.atttypid,
       CASE WHEN a.attcollation = 0 THEN NULL
            WHEN cn.nspname = 'pg_catalog' THEN format('%I', co.collname)
            ELSE format('%I.%I', cn.nspname, co.collname) END,
       )" + deterministic +
           R"(
FROM pg_catalog.pg_attribute a
JOIN deepest d ON d.attnum = a.attnum
LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum)";
}

// The table's unique indexes with what classify_indexes looks at.
std::string unique_index_sql(int version) {
    const std::string key_count = version >= 110000 ? "i.indnkeyatts" : "i.indnatts";
    const std::string nulls_not_distinct = version >= 150000 ? "i.indnullsnotdistinct" : "false";
    return R"(
SELECT format('%I', ic.relname), )" +
           key_count + R"(::text, i.indkey::text, i.indpred IS NOT NULL, i.indisvalid, )" +
           nulls_not_distinct + R"(,
       pg_catalog.quote_ident(c.conname), c.condeferrable, i.indisprimary
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
LEFT JOIN pg_catalog.pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
     AND c.contype IN ('p', 'u')
WHERE i.indrelid = $1::oid AND i.indisunique
ORDER BY ic.relname)";
}

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

template <typename Int>
Int number(const QueryResult& r, std::size_t row, std::size_t column, Int fallback) {
    const std::string s = text(r, row, column);
    Int value = fallback;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || end != s.data() + s.size()) return fallback;
    return value;
}

bool same_ignoring_case(std::string_view a, std::string_view b) {
    auto lower = [](char x) { return x >= 'A' && x <= 'Z' ? static_cast<char>(x - 'A' + 'a') : x; };
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [&](char x, char y) { return lower(x) == lower(y); });
}

std::string quoted(std::string_view name) { return pgclient::quote_identifier(name); }

std::string relkind_problem(const std::string& kind) {
    if (kind == "r" || kind == "p" || kind == "f") return {};
    if (kind == "v") return "is a view, not a table";
    if (kind == "m") return "is a materialized view, not a table";
    if (kind == "S") return "is a sequence, not a table";
    if (kind == "i" || kind == "I") return "is an index, not a table";
    if (kind == "c") return "is a composite type, not a table";
    return "is not a table (relkind " + kind + ")";
}

}  // namespace

std::vector<std::string> GuardTable::key_column_names() const {
    std::vector<std::string> names;
    names.reserve(key_columns.size());
    for (std::size_t i : key_columns) names.push_back(columns.at(i).name);
    return names;
}

asio::awaitable<Result<GuardTable>> load_guard_table(pgclient::PgConnection& conn,
                                                     const config::Guard& guard) {
    const auto dot = guard.table.find('.');
    const std::string schema = dot == std::string::npos ? "" : guard.table.substr(0, dot);
    const std::string name = dot == std::string::npos ? guard.table : guard.table.substr(dot + 1);

    auto resolved = co_await conn.query_params(resolve_table_sql, params(schema, name));
    if (!resolved) co_return resolved.error();
    if (resolved->rows.empty()) {
        std::string message = "table " + guard.table + " does not exist";
        if (schema.empty()) {
            auto path = co_await conn.simple_query(search_path_sql);
            if (!path) co_return path.error();
            const std::string schemas = path->empty() ? "" : text(path->front(), 0, 0);
            message += " in the schemas of the search_path (" + schemas + ")";
        }
        auto similar = co_await conn.query_params(similar_table_sql, params(schema, name));
        if (!similar) co_return similar.error();
        if (!similar->rows.empty()) message += "; did you mean " + text(*similar, 0, 0) + "?";
        co_return Error::client(std::move(message));
    }

    GuardTable table;
    table.oid = number<std::uint32_t>(*resolved, 0, 0, 0);
    table.qualified_sql = text(*resolved, 0, 1);
    const std::string relkind = text(*resolved, 0, 2);
    table.schema = text(*resolved, 0, 3);
    table.name = text(*resolved, 0, 4);
    table.estimated_rows = number<std::int64_t>(*resolved, 0, 5, -1);
    const int version = number<int>(*resolved, 0, 6, 0);
    if (const auto problem = relkind_problem(relkind); !problem.empty()) {
        co_return Error::client(table.qualified_sql + " " + problem);
    }
    table.kind = relkind[0];
    const std::string oid_text = std::to_string(table.oid);

    auto columns = co_await conn.query_params(columns_sql(version), params(oid_text));
    if (!columns) co_return columns.error();
    struct ColumnFacts {
        int attnum = 0;
        std::string base_type;  // format_type of the base type (the column's own for a non-domain)
        bool domain = false;
        std::string collation;
        bool deterministic = true;
    };
    std::vector<ColumnFacts> facts;
    for (std::size_t i = 0; i < columns->rows.size(); ++i) {
        TableColumn c;
        c.name = text(*columns, i, 0);
        c.type_name = text(*columns, i, 1);
        c.type_oid = number<std::uint32_t>(*columns, i, 2, 0);
        c.not_null = flag(*columns, i, 4);
        c.has_default = flag(*columns, i, 5);
        c.generated = flag(*columns, i, 6);
        const std::string identity = text(*columns, i, 7);
        c.identity = identity.empty() ? 0 : identity[0];
        table.columns.push_back(std::move(c));
        ColumnFacts f;
        f.attnum = number<int>(*columns, i, 3, 0);
        f.base_type = text(*columns, i, 8);
        f.domain = flag(*columns, i, 9);
        f.collation = text(*columns, i, 10);
        f.deterministic = flag(*columns, i, 11);
        facts.push_back(std::move(f));
    }

    for (const auto& wanted : guard.columns) {
        const auto it = std::find_if(table.columns.begin(), table.columns.end(),
                                     [&](const TableColumn& c) { return c.name == wanted; });
        if (it == table.columns.end()) {
            std::string message =
                "column " + quoted(wanted) + " does not exist in " + table.qualified_sql;
            const auto similar = std::find_if(
                table.columns.begin(), table.columns.end(),
                [&](const TableColumn& c) { return same_ignoring_case(c.name, wanted); });
            if (similar != table.columns.end()) {
                message += "; did you mean " + quoted(similar->name) + "?";
            }
            co_return Error::client(std::move(message));
        }
        const auto index = static_cast<std::size_t>(it - table.columns.begin());
        const ColumnFacts& f = facts[index];
        const std::string where = "column " + quoted(wanted) + " of " + table.qualified_sql;
        if (!f.deterministic) {
            co_return Error::client(where + " uses the nondeterministic collation " + f.collation +
                                    ": the proxy cannot compare its values as the server does");
        }
        const auto type = column_type_from_catalog(f.base_type, f.deterministic);
        if (!type) {
            std::string shown = it->type_name;
            if (f.domain) shown += " (a domain over " + f.base_type + ")";
            co_return Error::client(where + " has type " + shown +
                                    ", which the proxy cannot compare (key columns may be "
                                    "smallint, integer, bigint, numeric, text, varchar, char, "
                                    "uuid, boolean, date, timestamp or timestamptz)");
        }
        table.key_columns.push_back(index);
        table.key_types.push_back(*type);
    }

    // Unique indexes: classify_indexes' rule (src/app/check/guard_report.cpp).
    auto indexes = co_await conn.query_params(unique_index_sql(version), params(oid_text));
    if (!indexes) co_return indexes.error();
    std::set<int> key_attnums;
    for (std::size_t k : table.key_columns) key_attnums.insert(facts[k].attnum);
    auto not_null = [&](int attnum) {
        for (std::size_t k : table.key_columns) {
            if (facts[k].attnum == attnum) return table.columns[k].not_null;
        }
        return false;
    };
    for (std::size_t i = 0; i < indexes->rows.size(); ++i) {
        // A constraint ON CONFLICT can name (not deferrable, its index valid), the primary
        // key's first.
        const std::string constraint = text(*indexes, i, 6);
        if (!constraint.empty() && !flag(*indexes, i, 7) && flag(*indexes, i, 4) &&
            (table.conflict_constraint.empty() || flag(*indexes, i, 8)))
            table.conflict_constraint = constraint;
        const auto key_count = number<std::size_t>(*indexes, i, 1, 0);
        auto cols = pgclient::parse_int_vector(text(*indexes, i, 2)).value_or(std::vector<int>{});
        if (cols.size() > key_count) cols.resize(key_count);  // INCLUDE columns
        const bool plain = !cols.empty() && std::find(cols.begin(), cols.end(), 0) == cols.end();
        if (!plain) continue;  // an expression index
        const std::set<int> index_set(cols.begin(), cols.end());
        if (!std::includes(key_attnums.begin(), key_attnums.end(), index_set.begin(),
                           index_set.end())) {
            continue;
        }
        const bool partial = flag(*indexes, i, 3);
        const bool valid = flag(*indexes, i, 4);
        const bool nulls_not_distinct = flag(*indexes, i, 5);
        const bool nulls_covered = guard.nulls_distinct || nulls_not_distinct ||
                                   std::all_of(cols.begin(), cols.end(), not_null);
        if (valid && !partial && nulls_covered) {
            table.enforcing_indexes.push_back(text(*indexes, i, 0));
        }
    }
    table.has_unique_index_on_key = !table.enforcing_indexes.empty();
    co_return table;
}

}  // namespace uniqguard::guard
