// Tests of SQL-level PREPARE / EXECUTE (pg_sql_prepared.hpp, plan_sql_prepare and
// plan_sql_execute in pg_write_plan.hpp): reading the two statements, the bodies kept per
// name, and which bodies an EXECUTE can be scanned for.
#include "proxy/pg_sql_prepared.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "pg_enroll_fixture.hpp"
#include "proxy/pg_write_plan.hpp"
#include "sql/postgres_parser.hpp"

using namespace uniqguard;
using namespace uniqguard::proxy;

TEST_CASE("PREPARE: the name as the server folds it, and where its statement begins",
          "[pg_sql_prepared]") {
    const std::string text = "PREPARE Ins (int, numeric(10, 2)) AS INSERT INTO t VALUES ($1, $2)";
    auto p = read_prepare(text, {});
    REQUIRE(p);
    CHECK(p->name == "ins");
    CHECK(text.substr(p->body_offset) == "INSERT INTO t VALUES ($1, $2)");

    p = read_prepare("prepare \"My \"\"P\"\"\" as UPDATE t SET a = 1", {});
    REQUIRE(p);
    CHECK(p->name == "My \"P\"");

    // NAMEDATALEN: two spellings that agree on 63 bytes are one name, cut at a character
    // boundary (found by a review: 32 two-byte characters are 62 bytes on the server)
    p = read_prepare("PREPARE " + std::string(70, 'a') + " AS SELECT 1", {});
    REQUIRE(p);
    CHECK(p->name == std::string(63, 'a'));
    std::string e32;
    for (int i = 0; i < 32; ++i) e32 += "\xC3\xA9";
    p = read_prepare("PREPARE " + e32 + " AS SELECT 1", {});
    REQUIRE(p);
    CHECK(p->name == e32.substr(0, 62));
    CHECK(read_execute_name("EXECUTE " + e32.substr(0, 62) + "(1)", {}) == e32.substr(0, 62));

    CHECK_FALSE(read_prepare("PREPARE TRANSACTION 'gid'", {}));
    CHECK_FALSE(read_prepare("PREPARE p", {}));
    CHECK_FALSE(read_prepare("PREPARE U&\"p\" AS SELECT 1", {}));
    CHECK_FALSE(read_prepare("EXECUTE p", {}));
    // a statement named `transaction` is a name like any other
    p = read_prepare("PREPARE transaction AS SELECT 1", {});
    REQUIRE(p);
    CHECK(p->name == "transaction");
}

TEST_CASE("EXECUTE: the name, behind EXPLAIN and its options too", "[pg_sql_prepared]") {
    CHECK(read_execute_name("EXECUTE Ins(1, 2)", {}) == "ins");
    CHECK(read_execute_name("execute \"Ins\" (1)", {}) == "Ins");
    CHECK(read_execute_name("EXPLAIN ANALYZE VERBOSE EXECUTE p", {}) == "p");
    CHECK(read_execute_name("EXPLAIN (ANALYZE, BUFFERS) EXECUTE p(1)", {}) == "p");
    // a name the proxy cannot read: "" (its caller refuses rather than forgets it)
    CHECK(read_execute_name("EXECUTE U&\"p\"", {}) == "");
    CHECK_FALSE(read_execute_name("SELECT 1", {}));
    CHECK_FALSE(read_execute_name("EXECUTE", {}));
}

TEST_CASE("names after EXECUTE, by tokens and inside strings", "[pg_sql_prepared]") {
    using Names = std::vector<std::string>;
    CHECK(names_after_execute("CREATE TABLE x AS EXECUTE Ins(1, 2)", {}) == Names{"ins"});
    // comments between the two, a quoted name (found by a review: a text match needed blanks)
    CHECK(names_after_execute("CREATE TABLE x AS EXECUTE/**/wl(1)", {}) == Names{"wl"});
    CHECK(names_after_execute("CREATE TABLE x AS EXECUTE --c\n wl(1)", {}) == Names{"wl"});
    CHECK(names_after_execute("EXPLAIN ANALYZE CREATE TEMP TABLE t AS EXECUTE \"A\"\"b\"", {}) ==
          Names{"A\"b"});
    // a name it cannot read: ""
    CHECK(names_after_execute("CREATE TABLE x AS EXECUTE U&\"\\0077l\"(1)", {}) == Names{""});
    // strings read as SQL again: a DO block's body, its dynamic EXECUTE's string, an E'' one
    CHECK(names_after_execute("DO $$ BEGIN EXECUTE 'EXECUTE ins(1, ''z'')'; END $$", {}) ==
          Names{"ins"});
    CHECK(names_after_execute("DO $$ BEGIN EXECUTE E'EXECUTE\\tins(1)'; END $$", {}) ==
          Names{"ins"});
    CHECK(names_after_execute("DO $$ BEGIN EXECUTE 'EXECUTE/**/ins(1)'; END $$", {}) ==
          Names{"ins"});
    // words that are not EXECUTE, a comment
    CHECK(names_after_execute("SELECT executed, execute_at FROM log -- execute ins", {}).empty());
    CHECK(names_after_execute("EXECUTE", {}).empty());
}

TEST_CASE("bodies kept per name: once each, bounded", "[pg_sql_prepared]") {
    SqlPreparedWrites kept;
    CHECK(kept.empty());
    CHECK_FALSE(kept.bodies("p"));
    CHECK(kept.add("p", "INSERT INTO t VALUES ($1)", true));
    CHECK(kept.add("p", "INSERT INTO t VALUES ($1)", true));
    CHECK(kept.add("p", "UPDATE t SET a = $1", true));
    // the same text read under standard_conforming_strings off is another body
    CHECK(kept.add("p", "UPDATE t SET a = $1", false));
    REQUIRE(kept.bodies("p"));
    using Body = SqlPreparedWrites::Body;
    CHECK(*kept.bodies("p") == std::vector<Body>{{"INSERT INTO t VALUES ($1)", true},
                                                 {"UPDATE t SET a = $1", true},
                                                 {"UPDATE t SET a = $1", false}});
    for (std::size_t i = 3; i < SqlPreparedWrites::max_bodies_per_name; ++i)
        CHECK(kept.add("p", "SELECT " + std::to_string(i), true));
    CHECK_FALSE(kept.add("p", "SELECT 'one too many'", true));
    CHECK(kept.bodies("p")->size() == SqlPreparedWrites::max_bodies_per_name);
    // the bytes: a body past the room is refused, and leaves no empty name behind
    CHECK_FALSE(kept.add("q", std::string(SqlPreparedWrites::max_bytes, 'x'), true));
    CHECK_FALSE(kept.bodies("q"));
    CHECK_FALSE(kept.empty());
}

using Fixture = uniqguard::test::EnrollPlanFixture;

TEST_CASE("which bodies an EXECUTE can be scanned for", "[pg_sql_prepared]") {
    Fixture f;
    for (const char* raises :
         {"INSERT INTO enroll (user_id, course_id) VALUES ($1, $2)",
          "INSERT INTO enroll (user_id, course_id) SELECT $1, c FROM other",
          "UPDATE enroll SET course_id = $1 WHERE user_id = 2",
          "UPDATE enroll SET course_id = course_id + random()::int",
          "MERGE INTO enroll e USING other o ON e.user_id = o.u "
          "WHEN NOT MATCHED THEN INSERT (user_id, course_id) VALUES (o.u, o.c)",
          "INSERT INTO enroll (user_id, course_id) VALUES ($1, $2) ON CONFLICT (id) "
          "DO UPDATE SET note = 'x'"}) {
        INFO(raises);
        auto body = f.plan(raises);
        REQUIRE(body);
        CHECK_FALSE(plan_sql_prepare(*body, "PREPARE p AS …"));
    }
    for (const char* skips :
         {"INSERT INTO enroll (user_id, course_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
          "INSERT INTO enroll (user_id, course_id) VALUES ($1, $2) "
          "ON CONFLICT (user_id, course_id) DO NOTHING",
          "INSERT INTO enroll (user_id, course_id) SELECT $1, c FROM other "
          "ON CONFLICT DO NOTHING",
          "INSERT INTO enroll (user_id, course_id) VALUES ($1, $2) "
          "ON CONFLICT (user_id, course_id) DO UPDATE SET note = 'x'"}) {
        INFO(skips);
        auto body = f.plan(skips);
        REQUIRE(body);
        auto verdict = plan_sql_prepare(*body, "PREPARE p AS …");
        REQUIRE(verdict);
        CHECK(verdict->kind == WritePlan::Kind::refuse);
        CHECK(verdict->text == "PREPARE p AS …");
        CHECK(verdict->refusal.find("PREPARE of a statement that skips duplicates") !=
              std::string::npos);
    }

    // The EXECUTE: run as written, scanned after, with its RowDescription asked for.
    auto body = f.plan("INSERT INTO enroll (user_id, course_id) VALUES ($1, $2)");
    REQUIRE(body);
    const std::string execute = "EXECUTE p(1, 2)";
    auto parsed = sql::parse_postgres(execute);
    REQUIRE(parsed);
    auto p = plan_sql_execute(*body, parsed.statements[0], execute, "INSERT");
    CHECK(p.kind == WritePlan::Kind::late_insert);
    CHECK(p.late_scan);
    CHECK(p.scan_rows);
    CHECK(p.scan_command == "INSERT");
    CHECK(p.scan_form == "EXECUTE of a prepared INSERT");
    CHECK(p.text == execute);
    const std::string explain = "EXPLAIN ANALYZE EXECUTE p(1, 2)";
    parsed = sql::parse_postgres(explain);
    REQUIRE(parsed);
    p = plan_sql_execute(*body, parsed.statements[0], explain, "INSERT");
    CHECK(p.kind == WritePlan::Kind::refuse);
}

TEST_CASE("under ignore an INSERT's PREPARE is refused, an UPDATE's kept; under log all kept",
          "[pg_sql_prepared]") {
    Fixture ignore(config::GuardAction::ignore);
    auto insert = ignore.plan("INSERT INTO enroll (user_id, course_id) VALUES ($1, $2)");
    REQUIRE(insert);
    CHECK(plan_sql_prepare(*insert, "PREPARE p AS …"));
    auto update = ignore.plan("UPDATE enroll SET course_id = $1 WHERE user_id = 2");
    REQUIRE(update);
    CHECK_FALSE(plan_sql_prepare(*update, "PREPARE p AS …"));
    Fixture log(config::GuardAction::log);
    auto skipping = log.plan(
        "INSERT INTO enroll (user_id, course_id) VALUES ($1, $2) "
        "ON CONFLICT (user_id, course_id) DO NOTHING");
    REQUIRE(skipping);
    CHECK_FALSE(plan_sql_prepare(*skipping, "PREPARE p AS …"));
}
