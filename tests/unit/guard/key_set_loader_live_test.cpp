// load_guard_table and load_key_set against a real PostgreSQL 15. Hidden ([.live]):
// tests/integration/test_key_set_loader.py runs them with UNIQGUARD_TEST_PG_PORT pointing at its
// private server (roles as in harness/pg_server.py: "postgres" by trust sets the tables up, the
// proxy's account "uniqguard" reads them). A plain unit test run does not select them.
//
// The rate case (2 M rows of (int, int)) is hidden but not tagged [live], so that the runs of
// every [live] case (test_check_command.py, under the sanitizers) skip it; it prints the rate
// and asserts nothing about it.

#include <boost/asio.hpp>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "guard/guard_catalog.hpp"
#include "guard/key_fingerprint.hpp"
#include "guard/key_normalizer.hpp"
#include "guard/key_set.hpp"
#include "guard/key_set_loader.hpp"
#include "pgclient/connection.hpp"
#include "util/gcc12_coroutine_frames.hpp"

using namespace uniqguard;
using namespace uniqguard::guard;
using pgclient::Error;
using pgclient::PgConnection;
namespace asio = boost::asio;

namespace {

constexpr std::uint64_t kSeed = 0x5eed'1234'abcd'0001ull;

config::Backend live_backend(std::string user, std::string password) {
    const char* port = std::getenv("UNIQGUARD_TEST_PG_PORT");
    REQUIRE(port != nullptr);
    config::Backend b;
    b.address = {"127.0.0.1", static_cast<std::uint16_t>(std::atoi(port))};
    b.tls = config::BackendTls::disable;
    b.user = std::move(user);
    b.password = std::move(password);
    b.database = "app";
    return b;
}

bool no_live_server() {
    if (std::getenv("UNIQGUARD_TEST_PG_PORT") != nullptr) return false;
    FAIL("UNIQGUARD_TEST_PG_PORT is not set: these cases need a live server");
    return true;
}

void run(asio::awaitable<void> body) {
    asio::io_context io;
    std::exception_ptr failure;
    asio::co_spawn(io, std::move(body), [&](std::exception_ptr e) { failure = e; });
    io.run();
    if (failure) std::rethrow_exception(failure);
}

// The superuser, for setting tables up; the proxy's account, for what is tested.
struct Connections {
    asio::ssl::context tls{asio::ssl::context::tls_client};
    PgConnection admin;
    PgConnection proxy;
};

asio::awaitable<void> connect_both(Connections& c) {
    auto a = co_await c.admin.connect(live_backend("postgres", ""), c.tls);
    INFO((a ? std::string("ok") : a.error().describe()));
    REQUIRE(a.ok());
    auto p = co_await c.proxy.connect(live_backend("uniqguard", "proxy-secret"), c.tls);
    INFO((p ? std::string("ok") : p.error().describe()));
    REQUIRE(p.ok());
}

asio::awaitable<void> close_both(Connections& c) {
    co_await c.admin.close();
    co_await c.proxy.close();
}

asio::awaitable<void> exec(PgConnection& conn, const std::string& sql) {
    auto r = co_await conn.simple_query(sql);
    INFO(sql);
    INFO((r ? std::string("ok") : r.error().describe()));
    REQUIRE(r.ok());
}

// A fresh schema readable by the proxy's account, with `sql` run inside it.
asio::awaitable<void> setup_schema(PgConnection& admin, const std::string& schema,
                                   const std::string& sql) {
    co_await exec(admin, "DROP SCHEMA IF EXISTS " + schema + " CASCADE; CREATE SCHEMA " + schema +
                             "; SET search_path = " + schema + "; SET TimeZone = 'UTC'; " + sql +
                             "; GRANT USAGE ON SCHEMA " + schema +
                             " TO uniqguard; GRANT SELECT ON ALL TABLES IN SCHEMA " + schema +
                             " TO uniqguard; RESET search_path");
}

asio::awaitable<std::string> scalar(PgConnection& conn, const std::string& sql) {
    auto r = co_await conn.simple_query(sql);
    INFO(sql);
    INFO((r ? std::string("ok") : r.error().describe()));
    REQUIRE(r.ok());
    REQUIRE(r->back().rows.size() == 1);
    co_return r->back().rows[0].at(0).value_or("NULL");
}

// Columns as "a,b": no braced list inside a co_await expression (GCC 12).
config::Guard guard_on(std::string table, std::string_view columns, bool nulls_distinct = true) {
    config::Guard g;
    g.table = std::move(table);
    while (!columns.empty()) {
        const auto comma = columns.find(',');
        g.columns.emplace_back(columns.substr(0, comma));
        columns.remove_prefix(comma == std::string_view::npos ? columns.size() : comma + 1);
    }
    g.nulls_distinct = nulls_distinct;
    g.name = "g";
    return g;
}

asio::awaitable<GuardTable> table_or_fail(PgConnection& conn, const config::Guard& g) {
    auto t = co_await load_guard_table(conn, g);
    INFO(g.table);
    INFO((t ? std::string("ok") : t.error().describe()));
    REQUIRE(t.ok());
    co_return std::move(t).value();
}

asio::awaitable<Error> table_error(PgConnection& conn, const config::Guard& g) {
    auto t = co_await load_guard_table(conn, g);
    INFO(g.table);
    REQUIRE_FALSE(t.ok());
    co_return t.error();
}

asio::awaitable<LoadStats> load_or_fail(PgConnection& conn, const GuardTable& t, KeySet& set,
                                        bool nulls_distinct = true) {
    auto stats = co_await load_key_set(conn, t, nulls_distinct, kSeed, set, {});
    INFO((stats ? std::string("ok") : stats.error().describe()));
    REQUIRE(stats.ok());
    co_return *stats;
}

// The session an INSERT's literals are read in when the client uses ISO dates and UTC.
SessionContext iso_utc() { return SessionContext::from_settings("UTC", "ISO, MDY"); }

// The fingerprint the proxy computes for a key written as INSERT literals (nullopt: NULL).
std::uint64_t literal_fingerprint(const std::vector<ColumnType>& types,
                                  const std::vector<std::optional<std::string>>& literals) {
    REQUIRE(types.size() == literals.size());
    std::string key;
    for (std::size_t i = 0; i < types.size(); ++i) {
        const auto part = literals[i] ? normalize_text(types[i], *literals[i], iso_utc())
                                      : NormalizedValue::null();
        INFO(types[i].to_string() << " " << literals[i].value_or("NULL") << " "
                                  << to_string(part.status));
        REQUIRE(append_key_part(key, part));
    }
    return fingerprint_encoded_key(key, kSeed);
}

std::string sql_literal(const std::string& value) {
    std::string out = "'";
    for (char c : value) {
        out += c;
        if (c == '\'') out += '\'';
    }
    return out + "'";
}

}  // namespace

// ------------------------------------------------------------------ load_guard_table

asio::awaitable<void> resolution() {
    Connections c;
    co_await connect_both(c);
    co_await setup_schema(c.admin, "ksl_res_a",
                          "CREATE TABLE enroll (id int, user_id int, course_id int);"
                          "CREATE TABLE only_a (x int);"
                          "CREATE TABLE \"Mixed\" (x int, \"CamelCol\" int);"
                          "CREATE VIEW enroll_view AS SELECT * FROM enroll;"
                          "CREATE SEQUENCE seq;"
                          "CREATE TABLE weird (j json, f float8, arr int[], c \"char\", b bytea,"
                          "                    ok int)");
    co_await setup_schema(c.admin, "ksl_res_b", "CREATE TABLE enroll (user_id int, course_id int)");

    // Qualified.
    auto a = co_await table_or_fail(c.proxy, guard_on("ksl_res_a.enroll", "user_id,course_id"));
    CHECK(a.schema == "ksl_res_a");
    CHECK(a.name == "enroll");
    CHECK(a.qualified_sql == "ksl_res_a.enroll");
    CHECK(a.kind == 'r');
    CHECK(a.oid != 0);
    CHECK(a.key_columns == std::vector<std::size_t>{1, 2});
    CHECK(a.key_column_names() == std::vector<std::string>{"user_id", "course_id"});
    REQUIRE(a.key_types.size() == 2);
    CHECK(a.key_types[0].kind == TypeKind::int4);

    // Unqualified: the first schema of the session's search_path that has it.
    co_await exec(c.proxy, "SET search_path = ksl_res_b, ksl_res_a");
    auto b = co_await table_or_fail(c.proxy, guard_on("enroll", "user_id,course_id"));
    CHECK(b.schema == "ksl_res_b");
    CHECK(b.key_columns == std::vector<std::size_t>{0, 1});
    auto only_a = co_await table_or_fail(c.proxy, guard_on("only_a", "x"));
    CHECK(only_a.schema == "ksl_res_a");
    auto mixed = co_await table_or_fail(c.proxy, guard_on("Mixed", "CamelCol"));
    CHECK(mixed.qualified_sql == "ksl_res_a.\"Mixed\"");
    co_await exec(c.proxy, "SET search_path = ksl_res_a, ksl_res_b");
    auto a2 = co_await table_or_fail(c.proxy, guard_on("enroll", "user_id,course_id"));
    CHECK(a2.schema == "ksl_res_a");
    CHECK(a2.oid == a.oid);

    // Missing: the message names what is missing; a name in another case gets a hint.
    auto missing = co_await table_error(c.proxy, guard_on("ksl_res_a.nope", "x"));
    CHECK(missing.kind == Error::Kind::client);
    CHECK(missing.message == "table ksl_res_a.nope does not exist");
    auto case_hint = co_await table_error(c.proxy, guard_on("mixed", "x"));
    CHECK(case_hint.kind == Error::Kind::client);
    CHECK(case_hint.message ==
          "table mixed does not exist in the schemas of the search_path (ksl_res_a, "
          "ksl_res_b); did you mean ksl_res_a.\"Mixed\"?");
    auto missing_schema = co_await table_error(c.proxy, guard_on("ksl_nowhere.enroll", "x"));
    CHECK(missing_schema.message == "table ksl_nowhere.enroll does not exist");
    auto no_column = co_await table_error(c.proxy, guard_on("ksl_res_a.enroll", "user_id,nope"));
    CHECK(no_column.kind == Error::Kind::client);
    CHECK(no_column.message == "column \"nope\" does not exist in ksl_res_a.enroll");
    auto column_case = co_await table_error(c.proxy, guard_on("ksl_res_a.Mixed", "camelcol"));
    CHECK(column_case.message ==
          "column \"camelcol\" does not exist in ksl_res_a.\"Mixed\"; did you mean "
          "\"CamelCol\"?");

    // Not tables.
    auto view = co_await table_error(c.proxy, guard_on("ksl_res_a.enroll_view", "user_id"));
    CHECK(view.kind == Error::Kind::client);
    CHECK(view.message == "ksl_res_a.enroll_view is a view, not a table");
    auto seq = co_await table_error(c.proxy, guard_on("ksl_res_a.seq", "last_value"));
    CHECK(seq.message == "ksl_res_a.seq is a sequence, not a table");

    // Types the proxy cannot compare.
    const std::vector<std::string> weird_columns = {"j", "f", "arr", "c", "b"};
    for (const auto& column : weird_columns) {
        auto e = co_await table_error(c.proxy, guard_on("ksl_res_a.weird", "ok," + column));
        INFO(e.message);
        CHECK(e.kind == Error::Kind::client);
        CHECK(e.message.starts_with("column \"" + std::string(column) +
                                    "\" of ksl_res_a.weird has type "));
        CHECK(e.message.find("which the proxy cannot compare") != std::string::npos);
    }
    co_await close_both(c);
}

TEST_CASE("LiveGuardTableResolvesNamesAndRefusesWhatItCannotGuard", "[.live][key_set_loader]") {
    if (no_live_server()) return;
    run(resolution());
}

asio::awaitable<void> collations_and_domains() {
    Connections c;
    co_await connect_both(c);
    co_await setup_schema(
        c.admin, "ksl_coll",
        "CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);"
        "CREATE COLLATION det (provider = icu, locale = 'und');"
        "CREATE DOMAIN short_code AS varchar(4) CHECK (VALUE <> '');"
        "CREATE DOMAIN code2 AS short_code;"
        "CREATE DOMAIN jdom AS json;"
        "CREATE TABLE t (a text COLLATE ci, b text COLLATE det, c text COLLATE \"C\","
        "                d short_code, e code2, f jdom)");
    auto ci = co_await table_error(c.proxy, guard_on("ksl_coll.t", "a"));
    CHECK(ci.kind == Error::Kind::client);
    CHECK(ci.message ==
          "column \"a\" of ksl_coll.t uses the nondeterministic collation ksl_coll.ci: the "
          "proxy cannot compare its values as the server does");
    auto t = co_await table_or_fail(c.proxy, guard_on("ksl_coll.t", "b,c,d,e"));
    REQUIRE(t.key_types.size() == 4);
    CHECK(t.key_types[0].kind == TypeKind::text);
    CHECK(t.key_types[1].kind == TypeKind::text);
    // A domain is compared as its base type, with the base type's modifier.
    CHECK(t.key_types[2].kind == TypeKind::varchar);
    CHECK(t.key_types[2].max_length == 4);
    CHECK(t.key_types[3] == t.key_types[2]);
    CHECK(t.columns[3].type_name == "ksl_coll.short_code");
    auto j = co_await table_error(c.proxy, guard_on("ksl_coll.t", "f"));
    CHECK(j.message ==
          "column \"f\" of ksl_coll.t has type ksl_coll.jdom (a domain over json), which the "
          "proxy cannot compare (key columns may be smallint, integer, bigint, numeric, text, "
          "varchar, char, uuid, boolean, date, timestamp or timestamptz)");

    // A domain key loads and fingerprints as its base type.
    co_await exec(c.admin, "INSERT INTO ksl_coll.t (d) VALUES ('ab  '), ('ab'), ('x')");
    KeySet set;
    auto d = co_await table_or_fail(c.proxy, guard_on("ksl_coll.t", "d"));
    auto stats = co_await load_or_fail(c.proxy, d, set);
    CHECK(stats.rows == 3);
    CHECK(set.size() == 3);  // varchar(4) keeps 'ab  ' as it is: not equal to 'ab'
    const std::vector<ColumnType> d_type{t.key_types[2]};
    CHECK(set.contains(literal_fingerprint(d_type, {std::string("ab  ")})));
    CHECK(set.contains(literal_fingerprint(d_type, {std::string("ab")})));
    CHECK(set.contains(literal_fingerprint(d_type, {std::string("x")})));
    co_await close_both(c);
}

TEST_CASE("LiveGuardTableCollationsAndDomains", "[.live][key_set_loader]") {
    if (no_live_server()) return;
    run(collations_and_domains());
}

asio::awaitable<void> column_order() {
    Connections c;
    co_await connect_both(c);
    co_await setup_schema(c.admin, "ksl_cols",
                          "CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY, gone int,"
                          "  a int NOT NULL, b text DEFAULT 'x', c int GENERATED BY DEFAULT AS "
                          "IDENTITY, d int GENERATED ALWAYS AS (a * 2) STORED, e varchar(10));"
                          "ALTER TABLE t DROP COLUMN gone;"
                          "ALTER TABLE t ADD COLUMN f numeric(10,2)");
    auto t = co_await table_or_fail(c.proxy, guard_on("ksl_cols.t", "f,a,e"));
    REQUIRE(t.columns.size() == 7);
    std::vector<std::string> names;
    for (const auto& col : t.columns) names.push_back(col.name);
    CHECK(names == std::vector<std::string>{"id", "a", "b", "c", "d", "e", "f"});
    CHECK(t.key_columns == std::vector<std::size_t>{6, 1, 5});
    CHECK(t.key_column_names() == std::vector<std::string>{"f", "a", "e"});
    CHECK(t.key_types[0].kind == TypeKind::numeric);
    CHECK(t.key_types[0].precision == 10);
    CHECK(t.key_types[0].scale == 2);
    CHECK(t.key_types[2].kind == TypeKind::varchar);

    const auto& id = t.columns[0];
    CHECK(id.type_name == "integer");
    CHECK(id.type_oid == 23);
    CHECK(id.not_null);
    CHECK(id.identity == 'a');
    CHECK(id.generated);
    const auto& a = t.columns[1];
    CHECK(a.not_null);
    CHECK_FALSE(a.has_default);
    CHECK_FALSE(a.generated);
    CHECK(a.identity == 0);
    const auto& b = t.columns[2];
    CHECK(b.type_name == "text");
    CHECK(b.has_default);
    CHECK_FALSE(b.not_null);
    CHECK_FALSE(b.generated);
    const auto& cc = t.columns[3];
    CHECK(cc.identity == 'd');
    CHECK_FALSE(cc.generated);
    const auto& d = t.columns[4];
    CHECK(d.generated);
    CHECK(d.has_default);
    CHECK(d.identity == 0);
    CHECK(t.columns[5].type_name == "character varying(10)");
    CHECK(t.columns[6].type_name == "numeric(10,2)");
    CHECK(t.columns[6].type_oid == 1700);

    // The loader reads the key columns in the guard's order.
    co_await exec(c.admin,
                  "INSERT INTO ksl_cols.t (a, e, f) VALUES (1, 'x', 1.5), (2, 'y', NULL), "
                  "(1, 'x', 1.50)");
    KeySet set;
    const auto stats = co_await load_or_fail(c.proxy, t, set);
    CHECK(stats.rows == 3);
    CHECK(stats.rows_with_null == 1);
    CHECK(stats.distinct_fingerprints == 1);
    CHECK(set.size() == 1);
    CHECK(set.contains(literal_fingerprint(t.key_types, {"1.5", "1", "x"})));
    CHECK_FALSE(set.contains(literal_fingerprint(t.key_types, {"1", "1", "x"})));
    co_await close_both(c);
}

TEST_CASE("LiveGuardTableColumnsInTableOrderWithoutDroppedOnes", "[.live][key_set_loader]") {
    if (no_live_server()) return;
    run(column_order());
}

asio::awaitable<void> unique_indexes() {
    Connections c;
    co_await connect_both(c);
    co_await setup_schema(
        c.admin, "ksl_idx",
        "CREATE TABLE plain (a int, b int, c int);"
        "CREATE INDEX ON plain (a, b);"                     // not unique
        "CREATE UNIQUE INDEX ON plain (a, b) WHERE c > 0;"  // partial
        "CREATE UNIQUE INDEX ON plain (a, b, c);"           // a superset of the key
        "CREATE UNIQUE INDEX ON plain ((a + 1), b);"        // an expression
        "CREATE TABLE exact (a int, b int); CREATE UNIQUE INDEX exact_ab ON exact (b, a);"
        "CREATE TABLE subset (a int, b int, UNIQUE (a));"
        "CREATE TABLE pk (a int, b int, PRIMARY KEY (a, b));"
        "CREATE TABLE incl (a int, b int, c int); CREATE UNIQUE INDEX ON incl (a, b) INCLUDE (c);"
        "CREATE TABLE nnd (a int, b int, UNIQUE NULLS NOT DISTINCT (a, b));"
        "CREATE TABLE nn (a int NOT NULL, b int NOT NULL, UNIQUE (a, b));"
        "CREATE TABLE deferred (a int, b int, UNIQUE (a, b) DEFERRABLE INITIALLY DEFERRED)");
    struct Case {
        const char* table;
        bool nulls_distinct;
        bool enforced;
    };
    const std::vector<Case> cases = {
        {"plain", true, false}, {"exact", true, true},    {"exact", false, false},
        {"subset", true, true}, {"pk", true, true},       {"pk", false, true},
        {"incl", true, true},   {"nnd", true, true},      {"nnd", false, true},
        {"nn", false, true},    {"deferred", true, true},
    };
    for (const auto& k : cases) {
        INFO(k.table << " nulls_distinct=" << k.nulls_distinct);
        auto t = co_await table_or_fail(
            c.proxy, guard_on(std::string("ksl_idx.") + k.table, "a,b", k.nulls_distinct));
        CHECK(t.has_unique_index_on_key == k.enforced);
        CHECK(t.enforcing_indexes.empty() == !k.enforced);
    }
    auto exact = co_await table_or_fail(c.proxy, guard_on("ksl_idx.exact", "a,b"));
    CHECK(exact.enforcing_indexes == std::vector<std::string>{"exact_ab"});
    co_await close_both(c);
}

TEST_CASE("LiveGuardTableSeesAUniqueIndexOnTheKey", "[.live][key_set_loader]") {
    if (no_live_server()) return;
    run(unique_indexes());
}

// ------------------------------------------------------------------ load_key_set

asio::awaitable<void> legacy_duplicates_and_nulls() {
    Connections c;
    co_await connect_both(c);
    co_await setup_schema(c.admin, "ksl_dups",
                          "CREATE TABLE enroll (id serial PRIMARY KEY, user_id int, course_id int);"
                          "INSERT INTO enroll (user_id, course_id) VALUES"
                          " (1, 1), (1, 1), (1, 1), (2, 1), (2, 1), (3, 1), (4, 2),"
                          " (NULL, 1), (NULL, 1), (5, NULL), (NULL, NULL);"
                          "INSERT INTO enroll (user_id, course_id)"
                          " SELECT g % 5000, g / 5000 FROM generate_series(10000, 60000) g");
    const auto distinct = std::stoull(
        co_await scalar(c.admin,
                        "SELECT count(DISTINCT (user_id, course_id)) FROM ksl_dups.enroll "
                        "WHERE user_id IS NOT NULL AND course_id IS NOT NULL"));
    const auto distinct_with_nulls = std::stoull(co_await scalar(
        c.admin,
        "SELECT count(*) FROM (SELECT DISTINCT user_id, course_id FROM ksl_dups.enroll) x"));
    const auto total =
        std::stoull(co_await scalar(c.admin, "SELECT count(*) FROM ksl_dups.enroll"));

    const auto g = guard_on("ksl_dups.enroll", "user_id,course_id");
    auto t = co_await table_or_fail(c.proxy, g);
    CHECK_FALSE(t.has_unique_index_on_key);

    KeySet set;
    auto stats = co_await load_or_fail(c.proxy, t, set);
    CHECK(stats.rows == total);
    CHECK(stats.rows_with_null == 4);
    CHECK(stats.unreadable == 0);
    CHECK(stats.distinct_fingerprints == distinct);
    CHECK(set.size() == distinct);
    CHECK(stats.memory_bytes == set.memory_bytes());
    CHECK(stats.elapsed.count() > 0);
    CHECK(set.contains(literal_fingerprint(t.key_types, {"1", "1"})));
    CHECK(set.contains(literal_fingerprint(t.key_types, {"4", "2"})));
    CHECK_FALSE(set.contains(literal_fingerprint(t.key_types, {"4", "1"})));
    CHECK_FALSE(set.contains(literal_fingerprint(t.key_types, {std::nullopt, "1"})));
    // Legacy duplicates count: erasing one of the three (1, 1) rows leaves the key.
    const auto one_one = literal_fingerprint(t.key_types, {"1", "1"});
    CHECK(set.erase(one_one));
    CHECK(set.erase(one_one));
    CHECK(set.contains(one_one));
    CHECK(set.erase(one_one));
    CHECK_FALSE(set.contains(one_one));

    // nulls_distinct = false: NULL is a value like any other, and apart from every value.
    KeySet with_nulls;
    auto nd = co_await load_key_set(c.proxy, t, false, kSeed, with_nulls, {});
    REQUIRE(nd.ok());
    CHECK(nd->rows_with_null == 4);
    CHECK(nd->distinct_fingerprints == distinct_with_nulls);
    CHECK(with_nulls.size() == distinct_with_nulls);
    CHECK(with_nulls.contains(literal_fingerprint(t.key_types, {std::nullopt, "1"})));
    CHECK(with_nulls.contains(literal_fingerprint(t.key_types, {"5", std::nullopt})));
    CHECK(with_nulls.contains(literal_fingerprint(t.key_types, {std::nullopt, std::nullopt})));
    CHECK_FALSE(with_nulls.contains(literal_fingerprint(t.key_types, {std::nullopt, "2"})));
    co_await close_both(c);
}

TEST_CASE("LiveKeySetCountsLegacyDuplicatesAndNulls", "[.live][key_set_loader]") {
    if (no_live_server()) return;
    run(legacy_duplicates_and_nulls());
}

asio::awaitable<void> escaped_text() {
    Connections c;
    co_await connect_both(c);
    const std::vector<std::string> values = {
        "plain", "tab\there", "new\nline",    "cr\rhere",   "back\\slash", "\\N",
        "\\",    "\\\\",      "\\x41",        "\\101",      "\b\f\v",      " lead trail ",
        "",      "é ü 日本",  "\x01\x02\x7f", "a\tb\tc\\d", "N",           "\\\t\n",
    };
    std::string inserts;
    for (std::size_t i = 0; i < values.size(); ++i) {
        inserts += (i == 0 ? "" : ", ") + std::string("(") + std::to_string(i) + ", " +
                   sql_literal(values[i]) + ")";
    }
    co_await setup_schema(c.admin, "ksl_text",
                          "CREATE TABLE t (n int, s text); INSERT INTO t VALUES " + inserts);
    auto t = co_await table_or_fail(c.proxy, guard_on("ksl_text.t", "s,n"));
    KeySet set;
    auto stats = co_await load_or_fail(c.proxy, t, set);
    CHECK(stats.rows == values.size());
    CHECK(set.size() == values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
        INFO(i);
        CHECK(set.contains(literal_fingerprint(t.key_types, {values[i], std::to_string(i)})));
    }
    co_await close_both(c);
}

TEST_CASE("LiveKeySetUndoesCopyEscapesInText", "[.live][key_set_loader]") {
    if (no_live_server()) return;
    run(escaped_text());
}

// Each type with literals as INSERTs write them, some equal to each other under the type.
struct TypeCase {
    const char* type;
    std::vector<std::string> literals;
};

asio::awaitable<void> every_key_type() {
    Connections c;
    co_await connect_both(c);
    const std::vector<TypeCase> cases = {
        {"smallint", {"0", "-32768", "32767", " 7 ", "+007", "7"}},
        {"integer", {"0", "-2147483648", "2147483647", "42", "0042"}},
        {"bigint", {"-9223372036854775808", "9223372036854775807", "1", "+1"}},
        {"numeric",
         {"1", "1.0", "1.00", "1e0", "-0.00", "0", "NaN", "Infinity", "-Infinity",
          "123456789012345678901234567890.000000000000000000001", "1e-20", "-12.5"}},
        {"numeric(10,2)", {"1.005", "1.01", "-3.14159", "99999999.99", "0.001"}},
        {"text", {"a", "A", "a ", "", "ünï", "x\ty"}},
        {"varchar(3)", {"ab", "ab   ", "abc", "a  ", "a"}},
        {"varchar", {"ab", "ab ", "long value here"}},
        {"char(4)", {"ab", "ab  ", "ab   ", "abcd", ""}},
        {"uuid",
         {"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
          "{a0eebc999c0b4ef8bb6d6bb9bd380a11}", "00000000-0000-0000-0000-000000000000"}},
        {"boolean", {"t", "true", "yes", "on", "1", "f", "no", "off"}},
        {"date",
         {"2024-02-29", "1999-01-08", "2000-01-01", "1900-03-01", "10000-01-01", "infinity",
          "-infinity", "0001-01-01"}},
        {"timestamp",
         {"2024-01-02 03:04:05", "2024-01-02T03:04:05.000", "2024-01-02 03:04:05.123456",
          "1999-12-31 23:59:59.999999", "infinity", "-infinity", "2024-01-02 24:00:00",
          "2024-01-03"}},
        {"timestamp(0)", {"2024-01-02 03:04:05.6", "2024-01-02 03:04:06", "2024-01-02 03:04:05.4"}},
        {"timestamptz",
         {"2024-01-02 03:04:05+00", "2024-01-02 05:04:05+02", "2024-01-02 03:04:05",
          "2024-01-01 22:04:05-05", "2024-07-01 12:00:00.5+05:30", "infinity",
          "1970-01-01 00:00:00+00"}},
    };
    std::string sql;
    for (std::size_t i = 0; i < cases.size(); ++i) {
        sql += "CREATE TABLE t" + std::to_string(i) + " (id serial, v " + cases[i].type + ");";
        sql += "INSERT INTO t" + std::to_string(i) + " (v) VALUES ";
        for (std::size_t j = 0; j < cases[i].literals.size(); ++j) {
            sql += (j == 0 ? "(" : ", (") + sql_literal(cases[i].literals[j]) + ")";
        }
        sql += ";";
    }
    co_await setup_schema(c.admin, "ksl_types", sql);

    for (std::size_t i = 0; i < cases.size(); ++i) {
        const auto& k = cases[i];
        INFO(k.type);
        const std::string table = "ksl_types.t" + std::to_string(i);
        auto t = co_await table_or_fail(c.proxy, guard_on(table, "v"));
        KeySet set;
        auto stats = co_await load_or_fail(c.proxy, t, set);
        CHECK(stats.rows == k.literals.size());
        const auto distinct =
            std::stoull(co_await scalar(c.admin, "SELECT count(DISTINCT v) FROM " + table));
        // Every literal's fingerprint is in the set and the set has no other: the loaded
        // values fingerprint exactly as the proxy fingerprints the INSERT's literals.
        CHECK(set.size() == distinct);
        std::vector<std::uint64_t> fps;
        for (const auto& literal : k.literals) {
            INFO(literal);
            const auto fp = literal_fingerprint(t.key_types, {literal});
            CHECK(set.contains(fp));
            fps.push_back(fp);
        }
        std::sort(fps.begin(), fps.end());
        CHECK(static_cast<std::size_t>(std::unique(fps.begin(), fps.end()) - fps.begin()) ==
              distinct);
    }
    co_await close_both(c);
}

TEST_CASE("LiveKeySetFingerprintsEqualTheInsertLiterals", "[.live][key_set_loader]") {
    if (no_live_server()) return;
    run(every_key_type());
}

asio::awaitable<void> partitions_inheritance_and_errors() {
    Connections c;
    co_await connect_both(c);
    co_await setup_schema(
        c.admin, "ksl_part",
        "CREATE TABLE p (a int, b int) PARTITION BY RANGE (a);"
        "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (100);"
        "CREATE TABLE p2 PARTITION OF p FOR VALUES FROM (100) TO (200);"
        "INSERT INTO p VALUES (1, 1), (150, 1), (150, 1);"
        "CREATE TABLE parent (a int, b int); CREATE TABLE child () INHERITS (parent);"
        "INSERT INTO parent VALUES (1, 1); INSERT INTO child VALUES (2, 2);"
        "CREATE TABLE bc (d date); INSERT INTO bc VALUES ('2024-01-01'), ('0044-03-15 BC'),"
        "  ('0001-01-01 BC'), (NULL);"
        "CREATE TABLE secret (a int)");
    co_await exec(c.admin, "REVOKE SELECT ON ksl_part.secret FROM uniqguard");

    auto p = co_await table_or_fail(c.proxy, guard_on("ksl_part.p", "a,b"));
    CHECK(p.kind == 'p');
    CHECK(key_set_copy_sql(p) == "COPY (SELECT \"a\", \"b\" FROM ksl_part.p) TO STDOUT");
    KeySet pset;
    auto ps = co_await load_or_fail(c.proxy, p, pset);
    CHECK(ps.rows == 3);
    CHECK(pset.size() == 2);

    auto parent = co_await table_or_fail(c.proxy, guard_on("ksl_part.parent", "a,b"));
    CHECK(key_set_copy_sql(parent) == "COPY ksl_part.parent (\"a\", \"b\") TO STDOUT");
    GuardTable foreign = parent;  // a foreign table has no heap to COPY from
    foreign.kind = 'f';
    CHECK(key_set_copy_sql(foreign) == "COPY (SELECT \"a\", \"b\" FROM ksl_part.parent) TO STDOUT");
    KeySet parent_set;
    auto pa = co_await load_or_fail(c.proxy, parent, parent_set);
    CHECK(pa.rows == 1);
    CHECK(parent_set.contains(literal_fingerprint(parent.key_types, {"1", "1"})));

    // A stored value the key layer cannot read (BC dates are left to the server today): a
    // clear error, without the value.
    auto bc = co_await table_or_fail(c.proxy, guard_on("ksl_part.bc", "d"));
    KeySet bc_set;
    auto bad = co_await load_key_set(c.proxy, bc, true, kSeed, bc_set, {});
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().kind == Error::Kind::client);
    INFO(bad.error().message);
    CHECK(bad.error().message.starts_with(
        "column \"d\" of ksl_part.bc (date) holds a value that the proxy cannot read as the "
        "server does ("));
    CHECK(bad.error().message.find("first at row 2 of 4; 2 values in all") != std::string::npos);
    CHECK(bad.error().message.find("BC") == std::string::npos);

    // A server error: no SELECT on the table. The connection stays usable.
    auto secret = co_await table_or_fail(c.proxy, guard_on("ksl_part.secret", "a"));
    KeySet secret_set;
    auto denied = co_await load_key_set(c.proxy, secret, true, kSeed, secret_set, {});
    REQUIRE_FALSE(denied.ok());
    CHECK(denied.error().kind == Error::Kind::server);
    CHECK(denied.error().server.sqlstate == "42501");
    CHECK(co_await scalar(c.proxy, "SELECT 1") == "1");
    co_await close_both(c);
}

TEST_CASE("LiveKeySetPartitionsInheritanceAndErrors", "[.live][key_set_loader]") {
    if (no_live_server()) return;
    run(partitions_inheritance_and_errors());
}

asio::awaitable<void> progress_and_session() {
    Connections c;
    co_await connect_both(c);
    co_await setup_schema(c.admin, "ksl_prog",
                          "CREATE TABLE t (a int, ts timestamptz, d date);"
                          "INSERT INTO t SELECT g, '2024-01-01 00:00:00+00'::timestamptz + "
                          "g * interval '1 minute', date '2024-01-01' + g % 1000 "
                          "FROM generate_series(1, 300000) g");
    // The proxy's session reads dates and times otherwise: the loader sets its own.
    co_await exec(c.proxy, "SET DateStyle = 'SQL, DMY'; SET TimeZone = 'America/New_York'");
    auto t = co_await table_or_fail(c.proxy, guard_on("ksl_prog.t", "ts,d"));
    KeySet set;
    std::vector<LoadProgress> seen;
    auto stats = co_await load_key_set(
        c.proxy, t, true, kSeed, set, [&](const LoadProgress& p) { seen.push_back(p); },
        std::chrono::milliseconds(1));
    INFO((stats ? std::string("ok") : stats.error().describe()));
    REQUIRE(stats.ok());
    CHECK(stats->rows == 300000);
    CHECK(set.size() == 300000);
    CHECK(set.contains(literal_fingerprint(t.key_types, {"2024-01-01 00:01:00+00", "2024-01-02"})));
    CHECK(set.contains(literal_fingerprint(t.key_types, {"2023-12-31 19:02:00-05", "2024-01-03"})));
    REQUIRE_FALSE(seen.empty());
    for (std::size_t i = 1; i < seen.size(); ++i) {
        CHECK(seen[i].rows > seen[i - 1].rows);
        CHECK(seen[i].elapsed >= seen[i - 1].elapsed);
    }
    CHECK(seen.back().rows <= 300000);
    CHECK(c.proxy.parameter("TimeZone") == "UTC");
    CHECK(c.proxy.parameter("DateStyle") == "ISO, YMD");
    co_await close_both(c);
}

TEST_CASE("LiveKeySetProgressAndItsOwnSessionSettings", "[.live][key_set_loader]") {
    if (no_live_server()) return;
    run(progress_and_session());
}

// ------------------------------------------------------------------ rate (printed only)

asio::awaitable<void> load_rate() {
    Connections c;
    co_await connect_both(c);
    constexpr int n = 2'000'000;
    co_await setup_schema(c.admin, "ksl_rate",
                          "CREATE TABLE enroll (id bigserial PRIMARY KEY, user_id int NOT NULL, "
                          "course_id int NOT NULL);"
                          "INSERT INTO enroll (user_id, course_id) SELECT g / 7, g % 7 "
                          "FROM generate_series(1, " +
                              std::to_string(n) + ") g");
    co_await exec(c.admin, "VACUUM ANALYZE ksl_rate.enroll");
    auto t = co_await table_or_fail(c.proxy, guard_on("ksl_rate.enroll", "user_id,course_id"));
    for (int round = 0; round < 3; ++round) {
        KeySet set;
        auto stats = co_await load_or_fail(c.proxy, t, set);
        CHECK(stats.rows == static_cast<std::uint64_t>(n));
        CHECK(set.size() == static_cast<std::size_t>(n));
        const double seconds = std::chrono::duration<double>(stats.elapsed).count();
        std::printf(
            "key set load, (int, int), %d rows: %.3f s, %.2f M keys/s, %.1f bytes per key\n", n,
            seconds, n / seconds / 1e6, static_cast<double>(stats.memory_bytes) / n);
    }
    co_await exec(c.admin, "DROP SCHEMA ksl_rate CASCADE");
    co_await close_both(c);
}

TEST_CASE("LiveKeySetLoadRate", "[.][key_set_loader][rate]") {
    if (no_live_server()) return;
    run(load_rate());
}
