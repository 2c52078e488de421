#include "proxy/pg_write_plan.hpp"

#include <catch2/catch.hpp>
#include <tuple>

#include "guard/pg_check_sql.hpp"
#include "pg_enroll_fixture.hpp"
#include "sql/postgres_parser.hpp"

using namespace uniqguard;
using namespace uniqguard::proxy;
using uniqguard::test::enroll_guard;
using uniqguard::test::enroll_table;

using Fixture = uniqguard::test::EnrollPlanFixture;

TEST_CASE("INSERT: key columns found by name, or by the table's order", "[pg_write_plan]") {
    Fixture f;
    auto p = f.plan(
        "INSERT INTO enroll (course_id, note, user_id) VALUES (1, 'x', '2'), ($1, NULL, $2)");
    REQUIRE(p);
    CHECK(p->kind == WritePlan::Kind::insert);
    REQUIRE(p->rows.size() == 2);
    CHECK(p->rows[0][0].kind == ValueSource::Kind::string);  // user_id = '2'
    CHECK(p->rows[0][0].text == "2");
    CHECK(p->rows[0][1].kind == ValueSource::Kind::number);  // course_id = 1
    CHECK(p->rows[1][0].parameter == 2);
    CHECK(p->rows[1][1].parameter == 1);
    CHECK_FALSE(p->skip_duplicates);

    p = f.plan("INSERT INTO public.enroll VALUES (DEFAULT, 7, 8::int8)");
    REQUIRE(p);
    CHECK(p->rows[0][0].sql == "7");
    CHECK(p->rows[0][1].sql == "8::int8");
    REQUIRE(p->rows[0][1].cast);
    CHECK(p->rows[0][1].cast->kind == guard::TypeKind::int8);
}

TEST_CASE("other tables and reads are none of the guard's business", "[pg_write_plan]") {
    Fixture f;
    CHECK_FALSE(f.plan("INSERT INTO other (user_id) VALUES (1)"));
    CHECK_FALSE(f.plan("INSERT INTO elsewhere.enroll (user_id, course_id) VALUES (1, 1)"));
    CHECK_FALSE(f.plan("SELECT * FROM enroll FOR UPDATE"));
    CHECK_FALSE(f.plan("DELETE FROM enroll WHERE id = 1"));
    CHECK_FALSE(f.plan("UPDATE enroll SET note = 'x' WHERE id = 1"));
}

TEST_CASE("INSERTs whose keys come late are planned as late inserts", "[pg_write_plan]") {
    Fixture f;
    for (const char* sql :
         {"INSERT INTO enroll (user_id, course_id) SELECT 1, 2",
          "INSERT INTO enroll (user_id, course_id) VALUES (now()::int, 1)",
          "INSERT INTO enroll (user_id, course_id) VALUES (DEFAULT, 1)",
          "WITH s AS (SELECT 1 AS u) INSERT INTO enroll (user_id, course_id) SELECT u, 1 FROM s",
          "INSERT INTO enroll (user_id, course_id) SELECT 1, 2 ON CONFLICT (id) DO NOTHING",
          "INSERT INTO enroll (user_id, course_id) SELECT 1, 2 RETURNING id"}) {
        INFO(sql);
        auto p = f.plan(sql);
        REQUIRE(p);
        CHECK(p->kind == WritePlan::Kind::late_insert);
        CHECK(p->late_returning == std::string_view(sql).ends_with("RETURNING id"));
        // Its refusal where it cannot be run so (a prepared statement).
        CHECK(p->refusal.find("with a parameter of this type") != std::string::npos);
    }
    // Writable CTEs naming the guarded table with a write other than DELETE: no wrapper holds
    // them; run as written and scanned after (refused until 2026-11-28).
    auto p = f.plan(
        "WITH d AS (UPDATE enroll SET note = 'x' RETURNING user_id) INSERT INTO enroll "
        "(user_id, course_id) SELECT user_id, 1 FROM d");
    REQUIRE(p);
    CHECK(p->kind == WritePlan::Kind::late_insert);
    CHECK(p->late_scan);
}

TEST_CASE("late INSERTs that skip duplicates go through a stage, with a column list",
          "[pg_write_plan]") {
    Fixture f;
    Fixture ignore(config::GuardAction::ignore);
    struct Case {
        Fixture* fixture;
        const char* sql;
        bool with, conflict, kept;
    };
    for (const auto& c : std::initializer_list<Case>{
             {&f, "INSERT INTO enroll (user_id, course_id) SELECT 1, 2 ON CONFLICT DO NOTHING",
              false, true, true},
             {&f,
              "INSERT INTO enroll AS e (course_id, user_id) SELECT 1, 2 ON CONFLICT (user_id, "
              "course_id) DO NOTHING RETURNING e.id",
              false, true, false},
             {&ignore, "INSERT INTO enroll (user_id, course_id) SELECT 1, 2", false, false, false},
             {&ignore,
              "WITH s AS (SELECT 1 AS u) INSERT INTO enroll (user_id, course_id) SELECT u, 1 "
              "FROM s",
              true, false, false},
             {&ignore, "INSERT INTO enroll (user_id, course_id) VALUES (now()::int, 1)", false,
              false, false}}) {
        INFO(c.sql);
        auto p = c.fixture->plan(c.sql);
        REQUIRE(p);
        CHECK(p->kind == WritePlan::Kind::late_insert);
        CHECK(p->late_skip);
        CHECK(p->late_with == c.with);
        CHECK(p->late_conflict == c.conflict);
        CHECK(p->conflict_clause.empty() == !c.kept);
        // The key named: a prepared one is parsed by the server without the target (42P10).
        CHECK(p->must_rewrite ==
              (std::string_view(c.sql).find("course_id) DO NOTHING") != std::string_view::npos));
        CHECK_FALSE(p->insert_text.columns.empty());
    }
    // Refused: what the stage cannot hold as the table would.
    for (auto [fixture, sql, why] :
         std::initializer_list<std::tuple<Fixture*, const char*, const char*>>{
             {&ignore, "INSERT INTO enroll (user_id, course_id) VALUES (DEFAULT, 1)",
              "with DEFAULT among its values"},
             {&ignore, "INSERT INTO enroll (user_id, note) SELECT 1, 'x'",
              "leaves key column \"course_id\" to its default"},
             {&ignore, "INSERT INTO enroll (user_id, course_id, added) SELECT 1, 2, 3",
              "naming column \"added\", which the guard does not know"},
             {&ignore,
              "WITH uniqguard_x AS (SELECT 1 AS u) INSERT INTO enroll (user_id, course_id) "
              "SELECT u, 1 FROM uniqguard_x",
              "with a name starting with uniqguard_"}}) {
        INFO(sql);
        auto p = fixture->plan(sql);
        REQUIRE(p);
        CHECK(p->kind == WritePlan::Kind::refuse);
        CHECK(p->refusal.find(why) != std::string::npos);
    }
    // No column list: every column, the stage with the table's defaults; refused when an
    // identity or generated column would not be the table's in the stage.
    auto every = f.plan("INSERT INTO enroll SELECT 1, 2, 3 ON CONFLICT DO NOTHING");
    REQUIRE(every);
    CHECK(every->late_skip);
    CHECK(every->late_skip_every_column);
    CHECK(every->insert_text.columns ==
          std::vector<std::string>{"id", "user_id", "course_id", "note"});
    auto with_identity = enroll_table();
    with_identity.columns[0].identity = 'd';
    Fixture identity;
    identity.registry.guards()[0]->set_ready(with_identity);
    auto refused = identity.plan("INSERT INTO enroll SELECT 1, 2, 3 ON CONFLICT DO NOTHING");
    REQUIRE(refused);
    CHECK(refused->kind == WritePlan::Kind::refuse);
    CHECK(refused->refusal.find("without a column list, on a table with identity or generated "
                                "column \"id\"") != std::string::npos);
    // A column named twice: the server's own error (42701), before any row.
    auto twice = ignore.plan("INSERT INTO enroll (user_id, course_id, user_id) SELECT 1, 2, 3");
    REQUIRE(twice);
    CHECK(twice->kind == WritePlan::Kind::insert);
    CHECK(twice->forward_untouched);
}

TEST_CASE("a data-modifying WITH list is hoisted to the top of the late wrapper",
          "[pg_write_plan]") {
    Fixture f;
    for (const char* sql :
         {"WITH d AS (DELETE FROM other RETURNING u) INSERT INTO enroll (user_id, course_id) "
          "SELECT u, 1 FROM d",
          "with recursive d (u) AS (UPDATE other SET u = u + 1 RETURNING u), r AS (SELECT 1) -- c\n"
          "INSERT INTO enroll (user_id, course_id) SELECT u, 1 FROM d RETURNING id",
          "WITH i AS (INSERT INTO other VALUES (1) RETURNING u) INSERT INTO enroll (user_id) "
          "VALUES ((SELECT u FROM i))"}) {
        INFO(sql);
        auto p = f.plan(sql);
        REQUIRE(p);
        CHECK(p->kind == WritePlan::Kind::late_insert);
        CHECK(p->late_hoist);
        const std::string_view text(sql);
        const auto at = insert_after_with(text);
        REQUIRE(at);
        CHECK(text.substr(*at, 6) == "INSERT");
        CHECK(text.substr(*at).find("INSERT INTO enroll") == 0);
    }
    // A WITH that only reads stays nested in the wrapper.
    auto p = f.plan(
        "WITH s AS (SELECT 1 AS u) INSERT INTO enroll (user_id, course_id) SELECT u, 1 "
        "FROM s");
    REQUIRE(p);
    CHECK(p->kind == WritePlan::Kind::late_insert);
    CHECK_FALSE(p->late_hoist);
    CHECK_FALSE(insert_after_with("INSERT INTO enroll SELECT 1, 2"));
    // A column named insert in a CYCLE clause is not the statement.
    CHECK(insert_after_with("WITH RECURSIVE r (insert) AS (SELECT 1 UNION ALL SELECT insert + 1 "
                            "FROM r) CYCLE insert SET c USING p INSERT INTO enroll SELECT 1") ==
          102);
    CHECK_FALSE(insert_after_with("WITH s AS (SELECT 1) SELECT * FROM s"));
    CHECK(insert_after_with("WITH s AS (INSERT INTO x VALUES (1)) INSERT INTO enroll SELECT 1") ==
          37);
    // Refused: a name the wrapper uses.
    for (const char* sql :
         {"WITH uniqguard_ins AS (DELETE FROM other RETURNING u) INSERT INTO enroll "
          "(user_id, course_id) SELECT u, 1 FROM uniqguard_ins"}) {
        INFO(sql);
        auto r = f.plan(sql);
        REQUIRE(r);
        CHECK(r->kind == WritePlan::Kind::refuse);
        CHECK(r->refusal.find("guard \"enroll_key\"") != std::string::npos);
    }
    // A CTE that only deletes from the guarded table frees keys the check after it sees.
    for (const char* sql :
         {"WITH d AS (DELETE FROM enroll WHERE id = 1 RETURNING user_id) INSERT INTO enroll "
          "(user_id, course_id) SELECT user_id, 2 FROM d",
          "WITH d AS (DELETE FROM other RETURNING u), s AS (SELECT id FROM enroll FOR UPDATE) "
          "INSERT INTO enroll (user_id, course_id) SELECT u, 1 FROM d"}) {
        INFO(sql);
        auto r = f.plan(sql);
        REQUIRE(r);
        CHECK(r->kind == WritePlan::Kind::late_insert);
        CHECK(r->late_hoist);
    }
    // ...but with any other write there, or a function body that may write, the statement
    // runs as written and is scanned after.
    for (const char* sql :
         {"WITH d AS (DELETE FROM enroll RETURNING user_id), i AS (INSERT INTO other VALUES (1)) "
          "INSERT INTO enroll (user_id, course_id) SELECT user_id, 2 FROM d",
          "WITH d AS (DELETE FROM enroll WHERE app.f($$update x$$) RETURNING user_id) INSERT "
          "INTO enroll (user_id, course_id) SELECT user_id, 2 FROM d"}) {
        INFO(sql);
        auto r = f.plan(sql);
        REQUIRE(r);
        CHECK(r->late_scan);
    }
    // A CTE naming another table that contains the guarded one's name is no mention.
    auto other = f.plan(
        "WITH d AS (DELETE FROM enroll_src RETURNING u) INSERT INTO enroll "
        "(user_id, course_id) SELECT u, 1 FROM d");
    REQUIRE(other);
    CHECK(other->kind == WritePlan::Kind::late_insert);
    // The guarded table written in the WITH list of a write to another table: run as written
    // and scanned after (refused until 2026-11-28); read there: none of the guard's business.
    for (const char* sql :
         {"WITH x AS (INSERT INTO enroll (user_id, course_id) VALUES (1, 1) RETURNING user_id) "
          "INSERT INTO other SELECT user_id FROM x",
          "WITH x AS (INSERT INTO \"enroll\" (user_id, course_id) SELECT 1, 1) DELETE FROM other",
          "WITH x AS (UPDATE enroll SET user_id = 2 RETURNING id) UPDATE other SET u = 1",
          "WITH x AS (INSERT INTO enroll (user_id, course_id) VALUES (1, 1) RETURNING 1) MERGE "
          "INTO other o USING (SELECT 1 AS id) s ON o.id = s.id WHEN NOT MATCHED THEN DO "
          "NOTHING"}) {
        INFO(sql);
        auto r = f.plan(sql);
        REQUIRE(r);
        CHECK(r->kind == WritePlan::Kind::late_insert);
        CHECK(r->late_scan);
    }
    CHECK_FALSE(f.plan("WITH s AS (SELECT user_id FROM enroll) INSERT INTO other SELECT * FROM s"));
    CHECK_FALSE(f.plan("WITH s AS (SELECT 1) DELETE FROM enroll"));
    // The wrapper's pieces: the prefix continues the client's WITH list.
    const auto late = guard::late_insert_sql(enroll_table(), enroll_guard(), true, false, true);
    CHECK(late.prefix == ", uniqguard_ins AS (");
    CHECK(late.suffix.starts_with("\nRETURNING user_id, course_id) INSERT INTO pg_temp."));
    const auto nested = guard::late_insert_sql(enroll_table(), enroll_guard(), true, true, false);
    CHECK(nested.prefix == "WITH uniqguard_ins AS (");
    CHECK(nested.suffix.ends_with("FROM uniqguard_ins) SELECT * FROM uniqguard_ins"));
    // An UPDATE's: the key columns returned are the table's (its FROM list may have the names).
    const auto update =
        guard::late_insert_sql(enroll_table(), enroll_guard(), true, false, false, {}, "\"E\"");
    CHECK(update.suffix.starts_with(
        "\nRETURNING \"E\".user_id, \"E\".course_id) INSERT INTO pg_temp."));
    CHECK(update.suffix.ends_with(" SELECT user_id, course_id FROM uniqguard_ins"));
    // In a read-only transaction the client's statement's own refusal, before anything else.
    const auto read_only = guard::late_insert_sql(enroll_table(), enroll_guard(), true, false,
                                                  false, {}, "e", "UPDATE");
    CHECK(read_only.prepare.find("current_setting('transaction_read_only') = 'on' THEN RAISE "
                                 "EXCEPTION USING ERRCODE = '25006', MESSAGE = E'cannot execute "
                                 "UPDATE in a read-only transaction'") != std::string::npos);
    CHECK(read_only.prepare.find("25006") < read_only.prepare.find("CREATE TEMP TABLE"));
    CHECK(late.prepare.find("E'cannot execute INSERT in a read-only transaction'") !=
          std::string::npos);
    const auto returning =
        guard::late_insert_sql(enroll_table(), enroll_guard(), true, true, false, {}, "e");
    CHECK(returning.suffix.starts_with(
        "\n, e.user_id AS uniqguard_k1, e.course_id AS uniqguard_k2), uniqguard_rec AS (INSERT "
        "INTO pg_temp."));
}

TEST_CASE("UPDATE: a key column set to an expression the check can evaluate ahead of it",
          "[pg_write_plan]") {
    Fixture f;
    for (const char* sql :
         {"UPDATE enroll SET user_id = (user_id + 1) WHERE id = 3",
          "UPDATE enroll SET user_id = abs(user_id - $1), course_id = course_id",
          "UPDATE enroll SET user_id = pg_catalog.length(note) WHERE note IN ('a', 'b')",
          "UPDATE enroll SET user_id = CASE WHEN (user_id > 1) THEN (1) ELSE 2 END"}) {
        INFO(sql);
        auto p = f.plan(sql);
        REQUIRE(p);
        REQUIRE(p->kind == WritePlan::Kind::update);
        CHECK(p->update_key[0].kind == ValueSource::Kind::expression);
        CHECK_FALSE(p->update_key[0].sql.empty());
    }
}

TEST_CASE("ON CONFLICT (key) DO UPDATE: its SET list and WHERE as written", "[pg_write_plan]") {
    Fixture f;
    auto p = f.plan(
        "INSERT INTO enroll AS e (user_id, course_id, note) VALUES (1, 2, 'n') ON CONFLICT "
        "(course_id, user_id) DO UPDATE SET note = e.note || (excluded.note), id = 3 "
        "WHERE (e.note <> 'x') RETURNING id");
    REQUIRE(p);
    REQUIRE(p->kind == WritePlan::Kind::upsert);
    CHECK(p->upsert_set == "note = e.note || (excluded.note), id = 3 ");
    CHECK(p->upsert_where == " (e.note <> 'x') ");
    CHECK(p->insert_text.returning == "id");
    CHECK(p->insert_text.columns == std::vector<std::string>{"user_id", "course_id", "note"});
    CHECK(p->rows.size() == 1);
    // A prepared one is refused at its Parse (the server would refuse it there).
    CHECK(p->refuse_at_parse);
    p = f.plan(
        "INSERT INTO enroll (user_id, course_id) VALUES (1, 2) ON CONFLICT ON CONSTRAINT "
        "enroll_key DO UPDATE SET note = 'n'");
    REQUIRE(p);
    CHECK(p->kind == WritePlan::Kind::upsert);
    CHECK(p->upsert_set == "note = 'n'");
    CHECK(p->upsert_where.empty());
    // A SET that moves the row to another key is refused.
    p = f.plan(
        "INSERT INTO enroll (user_id, course_id) VALUES (1, 2) ON CONFLICT (user_id, course_id) "
        "DO UPDATE SET user_id = 3");
    REQUIRE(p);
    CHECK(p->kind == WritePlan::Kind::refuse);
    CHECK(p->refusal.find("setting key column \"user_id\"") != std::string::npos);
}

TEST_CASE("forms not enforced yet are refused naming the guard", "[pg_write_plan]") {
    Fixture f;
    for (const char* sql :
         {"INSERT INTO enroll (user_id, course_id) SELECT 1, 1 ON CONFLICT "
          "(user_id, course_id) DO UPDATE SET note = 'x'",
          "INSERT INTO enroll (user_id, course_id) VALUES (1, 1) ON CONFLICT "
          "(user_id, course_id) DO UPDATE SET (note, user_id) = ('x', 2)",
          "WITH uniqguard_s AS (SELECT 1) UPDATE enroll SET user_id = 1",
          "UPDATE enroll SET user_id = 1 WHERE CURRENT OF c", "COPY enroll FROM '/tmp/rows.txt'",
          "COPY enroll FROM STDIN WHERE user_id > 1", "COPY enroll (user_id, note) FROM STDIN",
          "COPY enroll FROM STDIN (ENCODING 'latin1')",
          "MERGE INTO enroll AS uniqguard_e USING other ON true WHEN MATCHED THEN DELETE",
          "EXPLAIN ANALYZE MERGE INTO enroll USING other ON true WHEN MATCHED THEN DELETE"}) {
        INFO(sql);
        auto p = f.plan(sql);
        REQUIRE(p);
        CHECK(p->kind == WritePlan::Kind::refuse);
        CHECK(p->refusal.find("guard \"enroll_key\"") != std::string::npos);
    }
}

TEST_CASE("a MERGE into a guarded table runs as a late write", "[pg_write_plan]") {
    Fixture f;
    for (const char* sql :
         {"MERGE INTO enroll USING other ON true WHEN MATCHED THEN DO NOTHING",
          "MERGE INTO public.enroll AS e USING (VALUES (1, 2)) s(u, c) ON e.user_id = s.u WHEN "
          "NOT MATCHED THEN INSERT (user_id, course_id) VALUES (s.u, s.c)",
          "WITH s AS (SELECT 1 AS u) MERGE INTO enroll e USING s ON e.user_id = s.u WHEN "
          "MATCHED THEN UPDATE SET course_id = 2",
          "WITH d AS (DELETE FROM other RETURNING 1) MERGE INTO enroll e USING d ON true WHEN "
          "MATCHED THEN DELETE"}) {
        INFO(sql);
        auto p = f.plan(sql);
        REQUIRE(p);
        CHECK(p->kind == WritePlan::Kind::late_insert);
        CHECK(p->late_scan);
        CHECK_FALSE(p->late_update);
        CHECK_FALSE(p->late_skip);
        CHECK_FALSE(p->late_returning);
        CHECK(p->late_command() == "MERGE");
    }
    // A MERGE into another table is not the guard's.
    CHECK_FALSE(f.plan("MERGE INTO other USING enroll ON true WHEN MATCHED THEN DELETE"));
    // The MERGE goes as written: a mark row written before it, its rows found after it by the
    // mark's transaction id and a later command id.
    const auto merge = guard::late_scan_sql(enroll_table(), enroll_guard(), true);
    CHECK(merge.prefix.empty());
    CHECK(merge.suffix.empty());
    // (in a read-only transaction nothing: the MERGE itself fails there, as on the server)
    CHECK(merge.prepare.find("current_setting('transaction_read_only') = 'on' THEN RETURN; END "
                             "IF;") <
          merge.prepare.find("DELETE FROM pg_temp.uniqguard_merge_mark; INSERT INTO "
                             "pg_temp.uniqguard_merge_mark VALUES (1);"));
    CHECK(merge.prepare.find("25006") == std::string::npos);
    CHECK(merge.keys_probe.starts_with("WITH uniqguard_m AS (INSERT INTO pg_temp.uniqguard_late_"));
    CHECK(merge.keys_probe.find(
              " (uniqguard_n1, uniqguard_n2) SELECT t.user_id, t.course_id FROM ONLY "
              "public.enroll AS t WHERE t.xmin OPERATOR(pg_catalog.=) (SELECT xmin FROM "
              "pg_temp.uniqguard_merge_mark) AND t.cmin::text::int8 > (SELECT cmin::text::int8 "
              "FROM pg_temp.uniqguard_merge_mark) ORDER BY t.ctid RETURNING uniqguard_row, "
              "uniqguard_n1, uniqguard_n2) SELECT ") != std::string::npos);
    CHECK(merge.keys_probe.ends_with(" FROM uniqguard_m ORDER BY uniqguard_row"));
    const auto insert = guard::late_insert_sql(enroll_table(), enroll_guard(), true);
    CHECK(merge.reject_check == insert.reject_check);
    CHECK(merge.clear == insert.clear);
}

TEST_CASE("a late check refuses rows committed since the transaction began, under RR only",
          "[pg_write_plan]") {
    for (bool nulls_distinct : {true, false}) {
        const auto late = guard::late_insert_sql(enroll_table(), enroll_guard(), nulls_distinct);
        REQUIRE(late.committed.at < late.reject_check.size());
        CHECK(late.committed.keys_table.starts_with("pg_temp.uniqguard_late_"));
        const auto flagged = guard::with_committed_rows(late.reject_check, late.committed, {0, 3});
        CHECK(flagged.find(" OR (v.uniqguard_row - (SELECT min(uniqguard_row) FROM " +
                           late.committed.keys_table +
                           ") IN (0, 3) AND pg_catalog.current_setting('transaction_isolation') "
                           "IN ('repeatable read', 'serializable')) ORDER BY v.uniqguard_row "
                           "LIMIT 1") != std::string::npos);
        CHECK(flagged.size() > late.reject_check.size());
        CHECK(guard::with_committed_rows(late.reject_check, late.committed, {}) ==
              late.reject_check);
        CHECK(guard::with_committed_rows(late.reject_check, {}, {0}) == late.reject_check);
    }
}

TEST_CASE("a statement whose WITH list writes a guarded table runs as written, then scanned",
          "[pg_write_plan]") {
    Fixture f;
    struct Case {
        const char* sql;
        std::string_view command;
        bool rows;
    };
    for (const Case& c : std::initializer_list<Case>{
             {"WITH x AS (INSERT INTO enroll (user_id, course_id) VALUES (1, 1) RETURNING 1) "
              "SELECT * FROM x",
              "SELECT", true},
             {"WITH x AS (UPDATE enroll SET note = 'n' RETURNING user_id) INSERT INTO other "
              "SELECT * FROM x",
              "INSERT", false},
             {"WITH x AS (INSERT INTO enroll (user_id, course_id) VALUES (1, 1) RETURNING 1) "
              "UPDATE enroll SET note = 'n' WHERE id = 1 RETURNING id",
              "UPDATE", true},
             {"WITH x AS (INSERT INTO enroll (user_id, course_id) VALUES (1, 1) RETURNING 1) "
              "INSERT INTO enroll (user_id, course_id) VALUES (1, 2)",
              "INSERT", false},
             {"WITH x AS (INSERT INTO enroll (user_id, course_id) VALUES (1, 1)) DELETE FROM "
              "other",
              "DELETE", false},
             {"WITH w AS (INSERT INTO enroll (user_id, course_id) VALUES (1, 1) RETURNING 1) "
              "MERGE INTO enroll USING other ON true WHEN MATCHED THEN DO NOTHING",
              "MERGE", false},
             {"WITH w AS (INSERT INTO enroll (user_id, course_id) VALUES (1, 1) RETURNING 1) "
              "MERGE INTO other USING w ON true WHEN MATCHED THEN DELETE",
              "MERGE", false},
             // (the WITH list writes another table, which no wrapper around the UPDATE holds)
             {"WITH d AS (DELETE FROM other RETURNING 1) UPDATE enroll SET user_id = 1", "UPDATE",
              false}}) {
        INFO(c.sql);
        auto p = f.plan(c.sql);
        REQUIRE(p);
        CHECK(p->kind == WritePlan::Kind::late_insert);
        CHECK(p->late_scan);
        CHECK(p->late_command() == c.command);
        CHECK(p->scan_rows == c.rows);
        CHECK_FALSE(p->late_hoist);
    }
    // ON CONFLICT in the WITH list (the scan cannot tell a skipped row from a duplicate), and
    // COPY (a write) TO STDOUT: refused.
    for (const char* sql :
         {"WITH x AS (INSERT INTO enroll (user_id, course_id) VALUES (1, 1) ON CONFLICT DO "
          "NOTHING RETURNING 1) SELECT count(*) FROM x",
          "WITH x AS (INSERT INTO enroll (user_id, course_id) VALUES (1, 1) ON CONFLICT "
          "(user_id, course_id) DO UPDATE SET note = 'u' RETURNING 1) DELETE FROM other",
          "COPY (INSERT INTO enroll (user_id, course_id) VALUES (1, 1) RETURNING user_id) TO "
          "STDOUT",
          "COPY (WITH x AS (INSERT INTO enroll (user_id, course_id) VALUES (1, 1) RETURNING "
          "user_id) SELECT * FROM x) TO STDOUT"}) {
        INFO(sql);
        auto p = f.plan(sql);
        REQUIRE(p);
        CHECK(p->kind == WritePlan::Kind::refuse);
        CHECK(p->refusal.find("guard \"enroll_key\"") != std::string::npos);
    }
    CHECK_FALSE(f.plan("COPY (SELECT * FROM enroll) TO STDOUT"));
    // A WITH list writing another table, the guarded one only read after it: not the guard's.
    CHECK_FALSE(
        f.plan("WITH x AS (INSERT INTO other VALUES (1) RETURNING 1) SELECT * FROM enroll"));
    // Only deleting from it, or only reading it: not a write of its keys.
    CHECK_FALSE(f.plan("WITH d AS (DELETE FROM enroll RETURNING 1) SELECT * FROM d"));
    CHECK_FALSE(f.plan("WITH d AS (DELETE FROM enroll RETURNING 1) DELETE FROM other"));
    CHECK_FALSE(f.plan("WITH s AS (SELECT * FROM enroll) SELECT * FROM s"));
    // Under "ignore" (the CTE's INSERT could have skipped its duplicates) and "log": refused,
    // which "log" forwards with a warning.
    for (auto action : {config::GuardAction::ignore, config::GuardAction::log}) {
        Fixture other(action);
        auto p = other.plan(
            "WITH x AS (INSERT INTO enroll (user_id, course_id) VALUES (1, 1) RETURNING 1) "
            "SELECT * FROM x");
        REQUIRE(p);
        CHECK(p->kind == WritePlan::Kind::refuse);
    }
    // A DO block writing the table: refused (what it writes may leave the mark's
    // transaction: a function with an EXCEPTION block, a procedure that commits).
    for (const char* sql :
         {"DO $$BEGIN INSERT INTO enroll (user_id, course_id) VALUES (1, 1); END$$",
          "DO $$BEGIN PERFORM app.f(); UPDATE enroll SET user_id = 2; END$$"}) {
        INFO(sql);
        auto p = f.plan(sql);
        REQUIRE(p);
        CHECK(p->kind == WritePlan::Kind::refuse);
        CHECK(p->refusal.find("a DO block writing to it") != std::string::npos);
    }
    CHECK_FALSE(f.plan("DO $$BEGIN PERFORM count(*) FROM enroll; END$$"));
    // ON CONFLICT … DO UPDATE on another index: run as written and scanned after; not under
    // "ignore", nor with the key's columns and an inference WHERE.
    for (const char* sql : {"INSERT INTO enroll (user_id, course_id) VALUES (1, 1) ON CONFLICT "
                            "(id) DO UPDATE SET note = 'x'",
                            "INSERT INTO enroll SELECT * FROM other ON CONFLICT ON CONSTRAINT "
                            "enroll_pkey DO UPDATE SET user_id = EXCLUDED.user_id RETURNING id"}) {
        INFO(sql);
        auto p = f.plan(sql);
        REQUIRE(p);
        CHECK(p->late_scan);
        CHECK(p->late_command() == "INSERT");
        CHECK(p->scan_rows == std::string_view(sql).ends_with("RETURNING id"));
    }
    for (const char* sql : {"INSERT INTO enroll (user_id, course_id) VALUES (1, 1) ON CONFLICT "
                            "(user_id, course_id) WHERE note IS NULL DO UPDATE SET note = 'x'",
                            "INSERT INTO enroll (user_id, course_id) VALUES (1, 1) ON CONFLICT "
                            "((user_id), course_id) DO UPDATE SET note = 'x'"}) {
        INFO(sql);
        auto inferred = f.plan(sql);
        REQUIRE(inferred);
        CHECK(inferred->kind == WritePlan::Kind::refuse);
    }
    // ...but a MERGE under "ignore" is judged as under "reject".
    Fixture ignore(config::GuardAction::ignore);
    auto merge = ignore.plan("MERGE INTO enroll USING other ON true WHEN MATCHED THEN DELETE");
    REQUIRE(merge);
    CHECK(merge->late_scan);
}

TEST_CASE("UPDATEs whose new keys the check cannot evaluate ahead go late", "[pg_write_plan]") {
    Fixture f;
    for (const char* sql :
         {"UPDATE enroll SET user_id = floor(random() * 10)",
          "UPDATE enroll SET user_id = (SELECT max(user_id) FROM enroll) + 1",
          "UPDATE enroll SET user_id = app.next_user(user_id)",
          "UPDATE enroll SET user_id = \"lower\"(user_id)", "UPDATE enroll SET user_id = DEFAULT",
          "UPDATE enroll SET user_id = 1 FROM pg_catalog.random() g WHERE g > 0.5",
          "UPDATE enroll SET user_id = v.u FROM (VALUES (1, random())) v(id, u) WHERE true",
          "UPDATE enroll SET user_id = 1 FROM other JOIN app.f() x ON true",
          "UPDATE enroll SET user_id = s.c FROM (SELECT (0) OPERATOR(pg_catalog.+) random() AS "
          "c) s",
          "WITH s AS (SELECT 1) UPDATE enroll SET user_id = 1 FROM s",
          "UPDATE enroll SET user_id = 1 WHERE random() < 0.5"}) {
        INFO(sql);
        auto p = f.plan(sql);
        REQUIRE(p);
        CHECK(p->kind == WritePlan::Kind::late_insert);
        CHECK(p->late_update);
        CHECK_FALSE(p->late_returning);
        CHECK_FALSE(p->late_skip);
        CHECK(p->refusal.find("guard \"enroll_key\"") != std::string::npos);
    }
    auto p = f.plan("UPDATE enroll AS e SET course_id = DEFAULT WHERE e.id = 3 RETURNING e.id");
    REQUIRE(p);
    CHECK(p->kind == WritePlan::Kind::late_insert);
    CHECK(p->late_update);
    CHECK(p->late_returning);
    CHECK(p->alias == "e");
    // Evaluated ahead, as before: the precheck's plan.
    p = f.plan("UPDATE enroll SET user_id = lower(note)::int WHERE (SELECT true)");
    REQUIRE(p);
    CHECK(p->kind == WritePlan::Kind::update);
    CHECK_FALSE(p->late_update);
    // A cast with a typmod is no call (the differential oracle's `WHERE code = 'x'::char(12)`).
    for (const char* sql :
         {"UPDATE enroll SET user_id = $1 WHERE note = 'x'::char(12) AND id = $2",
          "UPDATE enroll SET user_id = 1 WHERE note = CAST(id AS character varying(10))",
          "UPDATE enroll SET user_id = 1 WHERE now() > '2026-01-01'::timestamp(3)"}) {
        INFO(sql);
        p = f.plan(sql);
        REQUIRE(p);
        CHECK(p->kind == WritePlan::Kind::update);
    }
    // log: no key to log before it runs; forwarded with a warning, as a late INSERT.
    Fixture logged(config::GuardAction::log);
    p = logged.plan("UPDATE enroll SET user_id = DEFAULT");
    REQUIRE(p);
    CHECK(p->kind == WritePlan::Kind::refuse);
}

TEST_CASE("the INSERT check refuses rows committed after the snapshot, off READ COMMITTED",
          "[pg_write_plan]") {
    const std::vector<guard::KeySql> rows{{"1", "1"}, {"2", "2"}, {"3", "3"}};
    const auto plain = guard::insert_reject_check(enroll_table(), enroll_guard(), rows, true);
    CHECK(plain.find("transaction_isolation") == std::string::npos);
    const auto flagged =
        guard::insert_reject_check(enroll_table(), enroll_guard(), rows, true, false, {0, 2, 7});
    CHECK(flagged.find(" OR (v.uniqguard_row IN (0, 2) AND "
                       "pg_catalog.current_setting('transaction_isolation') IN ('repeatable "
                       "read', 'serializable'))") != std::string::npos);
}

TEST_CASE("EXPLAIN: without ANALYZE nothing runs; with it, a wrapped form is refused",
          "[pg_write_plan]") {
    Fixture f;
    CHECK_FALSE(f.plan("EXPLAIN UPDATE enroll SET user_id = DEFAULT"));
    CHECK_FALSE(f.plan("EXPLAIN (COSTS OFF) INSERT INTO enroll (user_id, course_id) SELECT 1, 1"));
    for (const char* sql :
         {"EXPLAIN ANALYZE UPDATE enroll SET user_id = DEFAULT",
          "EXPLAIN (ANALYZE, COSTS OFF) INSERT INTO enroll (user_id, course_id) SELECT 1, 1",
          "EXPLAIN ANALYZE INSERT INTO enroll (user_id, course_id) VALUES (1, 1) ON CONFLICT "
          "(user_id, course_id) DO UPDATE SET note = 'x'"}) {
        INFO(sql);
        auto p = f.plan(sql);
        REQUIRE(p);
        CHECK(p->kind == WritePlan::Kind::refuse);
        CHECK(p->refusal.find("EXPLAIN ANALYZE") != std::string::npos);
    }
    // EXPLAIN ANALYZE of a form the proxy checks around the client's own statement: planned.
    auto p = f.plan("EXPLAIN ANALYZE INSERT INTO enroll (user_id, course_id) VALUES (1, 1)");
    REQUIRE(p);
    CHECK(p->kind == WritePlan::Kind::insert);
}

TEST_CASE("a late write naming something uniqguard_… is refused", "[pg_write_plan]") {
    Fixture f;
    for (const char* sql :
         {"UPDATE enroll SET user_id = DEFAULT RETURNING id AS uniqguard_k1",
          "INSERT INTO enroll (user_id, course_id) SELECT 1, 1 RETURNING id AS \"UNIQGUARD_x\""}) {
        INFO(sql);
        auto p = f.plan(sql);
        REQUIRE(p);
        CHECK(p->kind == WritePlan::Kind::refuse);
        CHECK(p->refusal.find("uniqguard_") != std::string::npos);
    }
    // In a string it is no name.
    auto p = f.plan("UPDATE enroll SET user_id = DEFAULT, note = 'uniqguard_k1'");
    REQUIRE(p);
    CHECK(p->kind == WritePlan::Kind::late_insert);
}

TEST_CASE("UPDATE … FROM: the FROM list's text, for the check to join", "[pg_write_plan]") {
    Fixture f;
    auto p = f.plan(
        "UPDATE enroll AS e SET course_id = v.c, note = 'x' FROM (VALUES (1, 2), (3, 4)) AS "
        "v(id, c) JOIN other o USING (id) WHERE e.id = v.id RETURNING e.id");
    REQUIRE(p);
    CHECK(p->kind == WritePlan::Kind::update);
    CHECK(p->from == "(VALUES (1, 2), (3, 4)) AS v(id, c) JOIN other o USING (id)");
    CHECK(p->where == "e.id = v.id");
    CHECK(p->alias == "e");
    // IS DISTINCT FROM in the SET list is not the FROM list; a subquery in FROM is read as a
    // table is (the same race as the WHERE's, docs/guard.md).
    p = f.plan(
        "UPDATE enroll SET user_id = s.u, note = (s.u IS DISTINCT FROM 2)::text FROM (SELECT "
        "lower(n) AS n, u FROM other) s, other2 WHERE enroll.note = s.n");
    REQUIRE(p);
    CHECK(p->kind == WritePlan::Kind::update);
    CHECK(p->from == "(SELECT lower(n) AS n, u FROM other) s, other2");
    CHECK(p->where == "enroll.note = s.n");
    p = f.plan("UPDATE enroll SET user_id = 1 FROM other");
    REQUIRE(p);
    CHECK(p->from == "other");
    CHECK(p->where.empty());
}

TEST_CASE("COPY FROM STDIN: key fields found in the column list or the table's order",
          "[pg_write_plan]") {
    Fixture f;
    auto p = f.plan("COPY enroll (note, course_id, user_id) FROM STDIN (FORMAT csv, HEADER)");
    REQUIRE(p);
    CHECK(p->kind == WritePlan::Kind::copy);
    CHECK(p->copy_key_fields == std::vector<std::size_t>{2, 1});
    CHECK(p->copy_options.format == protocol::postgres::CopyDataFormat::csv);
    CHECK(p->copy_options.header);
    CHECK(p->copy_options.delimiter == ',');

    p = f.plan("COPY enroll FROM STDIN WITH (DELIMITER '|', NULL 'x')");
    REQUIRE(p);
    CHECK(p->kind == WritePlan::Kind::copy);
    CHECK(p->copy_key_fields == std::vector<std::size_t>{1, 2});
    CHECK(p->copy_options.delimiter == '|');
    CHECK(p->copy_options.null_string == "x");

    CHECK_FALSE(f.plan("COPY enroll TO STDOUT"));

    Fixture ignoring(config::GuardAction::ignore);
    p = ignoring.plan("COPY enroll (course_id, user_id) FROM STDIN");
    REQUIRE(p);
    CHECK(p->kind == WritePlan::Kind::copy);
    CHECK(p->copy_columns == std::vector<std::string>{"course_id", "user_id"});
    p = ignoring.plan("COPY enroll FROM STDIN");
    REQUIRE(p);
    CHECK(p->copy_columns == std::vector<std::string>{"id", "user_id", "course_id", "note"});
}

TEST_CASE("ON CONFLICT DO NOTHING: which forms skip, which must be rewritten", "[pg_write_plan]") {
    Fixture f;
    auto bare =
        f.plan("INSERT INTO enroll (user_id, course_id) VALUES (1, 1) ON CONFLICT DO NOTHING");
    REQUIRE(bare);
    CHECK(bare->skip_duplicates);
    CHECK(bare->conflict_clause == "ON CONFLICT DO NOTHING");
    CHECK_FALSE(bare->must_rewrite);

    auto target = f.plan(
        "INSERT INTO enroll (user_id, course_id) VALUES (1, 1) "
        "ON CONFLICT (course_id, user_id) DO NOTHING RETURNING id");
    REQUIRE(target);
    CHECK(target->skip_duplicates);
    CHECK(target->must_rewrite);
    CHECK(target->insert_text.columns == std::vector<std::string>{"user_id", "course_id"});
    CHECK(target->insert_text.values == std::vector<std::vector<std::string>>{{"1", "1"}});
    CHECK(target->insert_text.returning == "id");

    auto constraint = f.plan(
        "INSERT INTO enroll (user_id, course_id) VALUES (1, 1) "
        "ON CONFLICT ON CONSTRAINT enroll_key DO NOTHING");
    REQUIRE(constraint);
    CHECK(constraint->must_rewrite);

    auto other = f.plan(
        "INSERT INTO enroll (id, user_id, course_id) VALUES (1, 1, 1) "
        "ON CONFLICT (id) DO NOTHING");
    REQUIRE(other);
    CHECK_FALSE(other->skip_duplicates);
    CHECK_FALSE(other->must_rewrite);
    CHECK(other->conflict_clause.empty());

    // Under ignore the guard's duplicates are dropped and the clause on the other index kept.
    Fixture ignoring(config::GuardAction::ignore);
    auto other_ignored = ignoring.plan(
        "INSERT INTO enroll (id, user_id, course_id) VALUES (1, 1, 1) "
        "ON CONFLICT (id) DO NOTHING");
    REQUIRE(other_ignored);
    CHECK(other_ignored->skip_duplicates);
    CHECK(other_ignored->conflict_clause == "ON CONFLICT (id) DO NOTHING");
    CHECK_FALSE(other_ignored->must_rewrite);
}

TEST_CASE("log forwards ON CONFLICT untouched; ignore skips", "[pg_write_plan]") {
    Fixture log(config::GuardAction::log);
    auto p = log.plan(
        "INSERT INTO enroll (user_id, course_id) VALUES (1, 1) "
        "ON CONFLICT (user_id, course_id) DO NOTHING");
    REQUIRE(p);
    CHECK(p->forward_untouched);
    auto refused = log.plan("INSERT INTO enroll (user_id, course_id) SELECT 1, 1");
    REQUIRE(refused);
    CHECK(refused->kind == WritePlan::Kind::refuse);  // the session forwards it with a warning

    Fixture ignore(config::GuardAction::ignore);
    p = ignore.plan("INSERT INTO enroll (user_id, course_id) VALUES (1, 1)");
    REQUIRE(p);
    CHECK(p->skip_duplicates);
    CHECK(p->conflict_clause.empty());
}

TEST_CASE("UPDATE: which key columns are set, the condition as written", "[pg_write_plan]") {
    Fixture f;
    auto p = f.plan("UPDATE enroll AS e SET note = 'n', course_id = $1 WHERE e.id = $2");
    REQUIRE(p);
    CHECK(p->kind == WritePlan::Kind::update);
    CHECK(p->update_assigned == std::vector<bool>{false, true});
    CHECK(p->update_key[1].parameter == 1);
    CHECK(p->alias == "e");
    CHECK(p->where == "e.id = $2");
}

TEST_CASE("a guard not ready yet makes writes unready", "[pg_write_plan]") {
    guard::GuardRegistry registry({enroll_guard()});
    const std::string text = "INSERT INTO enroll (user_id, course_id) VALUES (1, 1)";
    auto parsed = sql::parse_postgres(text);
    auto p = plan_write(parsed.statements[0], text, registry);
    REQUIRE(p);
    CHECK(p->kind == WritePlan::Kind::unready);
}

TEST_CASE("a row shorter than the table fills only the first columns", "[pg_write_plan]") {
    Fixture f;
    // id (DEFAULT), user_id: course_id is not written and has no default: NULL.
    auto p = f.plan("INSERT INTO enroll VALUES (DEFAULT, 7)");
    REQUIRE(p);
    CHECK(p->kind == WritePlan::Kind::insert);
    REQUIRE(p->rows.size() == 1);
    CHECK(p->rows[0][0].sql == "7");
    CHECK(p->rows[0][1].kind == ValueSource::Kind::null);
}
