// The shape path of a guarded MySQL text INSERT (sql/mysql_shape.hpp,
// proxy/mysql_insert_shape.hpp): one key per shape whatever the literals hold, a plan made from
// the full parse, and MySqlGuard keying a later text of the shape from its tokens exactly as the
// full way keys it, passing it only when every key is new and free.
#include "proxy/mysql_insert_shape.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "mysql_guard_fixture.hpp"
#include "sql/mysql_parser.hpp"
#include "sql/mysql_shape.hpp"

using namespace uniqguard;
using namespace uniqguard::proxy;
using Kind = MySqlGuard::Step::Kind;
using Fixture = uniqguard::test::MySqlGuardFixture;
using uniqguard::test::signals;

namespace {

std::string shape_key(std::string_view sql, const sql::MySqlDialect& dialect = {},
                      std::string_view context = "app") {
    sql::MySqlShape shape;
    sql::mysql_shape(sql, dialect, context, shape);
    REQUIRE(shape.ok);
    return shape.key;
}

// The plan the full way makes for `sql` in the fixture's database (nullopt: none).
std::optional<MySqlInsertShapePlan> plan_of(Fixture& f, std::string_view sql) {
    sql::MySqlShape shape;
    sql::mysql_shape(sql, {}, "app", shape);
    REQUIRE(shape.ok);
    const auto parsed = sql::parse_mysql(sql, {}, shape.tokens);
    return make_mysql_insert_shape_plan(parsed, sql, shape.tokens, {&f.g()});
}

}  // namespace

TEST_CASE("TextsThatDifferOnlyInTheirLiteralsHaveOneShape", "[mysql][shape]") {
    const auto a = shape_key("INSERT INTO enroll (user_id, note) VALUES (1, 'a')");
    CHECK(shape_key("INSERT INTO enroll (user_id, note) VALUES (123456789012, 'it''s \\' b')") ==
          a);
    CHECK(shape_key("INSERT  INTO enroll /* c */ (user_id,note)\nVALUES(-0, '')") !=
          a);  // the sign is a token of the shape
    CHECK(shape_key("INSERT  INTO enroll /* c */ (user_id,note)\nVALUES(0, '')") == a);
    // Kinds, words and symbols are part of it.
    CHECK(shape_key("INSERT INTO enroll (user_id, note) VALUES ('1', 'a')") != a);
    CHECK(shape_key("INSERT INTO enroll (user_id, note) VALUES (1.5, 'a')") != a);
    CHECK(shape_key("INSERT INTO enroll (user_id, note) VALUES (1, N'a')") != a);
    CHECK(shape_key("INSERT INTO enroll (user_id, note) VALUES (1, _utf8mb4'a')") != a);
    CHECK(shape_key("insert INTO enroll (user_id, note) VALUES (1, 'a')") != a);
    CHECK(shape_key("INSERT INTO enroll (note, user_id) VALUES (1, 'a')") != a);
    CHECK(shape_key("INSERT INTO enroll (user_id, note) VALUES (1, 'a'), (2, 'b')") != a);
    // A token's text cannot run into the next one's: `ab` `c` is not `a` `bc`.
    CHECK(shape_key("SELECT ab, c") != shape_key("SELECT a, bc"));
    // The dialect and the caller's context.
    sql::MySqlDialect nbe;
    nbe.no_backslash_escapes = true;
    CHECK(shape_key("INSERT INTO enroll (user_id, note) VALUES (1, 'a')", nbe) != a);
    CHECK(shape_key("INSERT INTO enroll (user_id, note) VALUES (1, 'a')", {}, "other") != a);
    // Text that does not lex has no shape.
    sql::MySqlShape shape;
    sql::mysql_shape("INSERT INTO enroll VALUES ('open", {}, "app", shape);
    CHECK_FALSE(shape.ok);
}

TEST_CASE("APlanIsMadeOnlyForAPlainInsertWhoseKeysAreQuotedStringsOrNumbers", "[mysql][shape]") {
    Fixture f;
    const auto plan = plan_of(f, "INSERT INTO enroll (note, user_id) VALUES ('x', -7), ('y', 8)");
    REQUIRE(plan);
    CHECK(plan->guard == &f.g());
    CHECK(plan->key_width == 1);
    REQUIRE(plan->parts.size() == 2);
    // Tokens: INSERT INTO enroll ( note , user_id ) VALUES ( 'x' , - 7 ) , ( 'y' , 8 )
    CHECK(plan->parts[0].token == 13);
    CHECK(plan->parts[0].number);
    CHECK(plan->parts[0].negative);
    CHECK(plan->parts[1].token == 19);
    CHECK_FALSE(plan->parts[1].negative);
    // No column list: the table's column order (id, user_id, note).
    const auto whole = plan_of(f, "INSERT INTO enroll VALUES (NULL, '5', 'n')");
    REQUIRE(whole);
    CHECK(whole->parts.size() == 1);
    CHECK(whole->parts[0].token == 7);
    CHECK_FALSE(whole->parts[0].number);
    for (const char* sql : {
             "INSERT INTO enroll (user_id) VALUES (NULL)",
             "INSERT INTO enroll (user_id) VALUES (DEFAULT)",
             "INSERT INTO enroll (user_id) VALUES (1 + 1)",
             "INSERT INTO enroll (user_id) VALUES (0x10)",
             "INSERT INTO enroll (user_id) VALUES (_utf8mb4'1')",
             "INSERT INTO enroll (user_id) VALUES ('1' '2')",
             "INSERT INTO enroll (user_id) VALUES (?)",
             "INSERT INTO enroll (note) VALUES ('x')",
             "INSERT INTO enroll (user_id, note) VALUES (1)",
             "INSERT INTO enroll (user_id) VALUES (1) ON DUPLICATE KEY UPDATE note = 'x'",
             "INSERT INTO enroll (user_id) SELECT 1",
             "INSERT INTO enroll (user_id) VALUES (1) RETURNING id",
             "REPLACE INTO enroll (user_id) VALUES (1)",
             "SET STATEMENT max_statement_time = 1 FOR INSERT INTO enroll (user_id) VALUES (1)",
             "ANALYZE INSERT INTO enroll (user_id) VALUES (1)",
             "INSERT INTO enroll (user_id) VALUES (1); INSERT INTO enroll (user_id) VALUES (2)",
             "UPDATE enroll SET user_id = 1",
         })
        CHECK_FALSE(plan_of(f, sql));
}

TEST_CASE("AKnownShapeIsKeyedFromItsTokensAsTheFullWayKeysIt", "[mysql][shape]") {
    Fixture f;
    const std::string shape = "INSERT INTO enroll (user_id, note) VALUES ";
    // The first text of the shape goes the full way and leaves its plan; the others pass on it.
    REQUIRE(f.query(shape + "(1, 'a')").kind == Kind::forward);
    REQUIRE(f.query(shape + "(-5, 'b')").kind == Kind::forward);  // a sign: another shape
    REQUIRE(f.query(shape + "(007, 'c')").kind == Kind::forward);
    REQUIRE(f.query(shape + "(-6, 'd')").kind == Kind::forward);
    CHECK(f.g().keys().size() == 4);
    CHECK(f.g().counters().passed.load() == 4);
    CHECK(f.g().counters().shape_passes.load() == 2);  // (007, 'c') and (-6, 'd')
    // The keys it added are the ones the full way reads: suspected by a text of another shape.
    for (const char* key : {"-6", "7", "'7'"}) {
        REQUIRE(f.query(std::string("INSERT INTO enroll (user_id) VALUES (") + key + ")").kind ==
                Kind::check);
        CHECK(signals(f.answer("1"), "1062",
                      std::string("Duplicate entry '") + (key[0] == '-' ? "-6" : "7") +
                          "' for key 'enroll_uniq'"));
    }
    // A key the key set has: the full way asks the server.
    auto step = f.query(shape + "(-5, 'd')");
    REQUIRE(step.kind == Kind::check);
    CHECK(step.sql == "SELECT CONCAT(EXISTS(SELECT 1 FROM `app`.`enroll` WHERE `user_id` = -5))");
    CHECK(f.answer("0").kind == Kind::forward);
    // The same key twice in one statement, on a shape's second text: the index's error.
    const std::string two = "INSERT INTO enroll (user_id, note) VALUES (20, 'x'), (21, 'y')";
    REQUIRE(f.query(two).kind == Kind::forward);
    CHECK(signals(f.query("INSERT INTO enroll (user_id, note) VALUES (30, 'x'), (30, 'y')"), "1062",
                  "Duplicate entry '30' for key 'enroll_uniq'"));
    // A value the proxy cannot key (beyond INT's range) is refused the full way, as ever.
    CHECK(f.query(shape + "(99999999999, 'e')").kind == Kind::replace);
    CHECK(f.g().counters().shape_passes.load() == 2);
}

TEST_CASE("OnlyAnInsertOfAnApplicationsSizeIsGivenAShape", "[mysql][shape]") {
    Fixture f;
    auto& cache = MySqlInsertShapeCache::of_this_thread();
    const auto key_of = [&](const std::string& sql) {
        // As on_query keys it: the session's character set and database first.
        return shape_key(
            sql, {},
            std::string(1, static_cast<char>(f.settings.client_charset())) + f.session.database);
    };
    // Reads and other writes naming the table leave no entry.
    const std::string select = "SELECT * FROM enroll WHERE user_id = 1";
    REQUIRE(f.query(select).kind == Kind::forward);
    CHECK(cache.find(*f.registry, key_of(select)) == nullptr);
    REQUIRE(f.query("DELETE FROM enroll WHERE user_id = 1").kind == Kind::forward);
    CHECK(cache.find(*f.registry, key_of("DELETE FROM enroll WHERE user_id = 1")) == nullptr);
    // An INSERT does, with its plan.
    const std::string insert = "INSERT INTO enroll (user_id, note) VALUES (1, 'a')";
    REQUIRE(f.query(insert).kind == Kind::forward);
    const auto* known = cache.find(*f.registry, key_of(insert));
    REQUIRE(known);
    CHECK(*known);
    // One past 64 KiB goes the full way every time, though its shape has that plan.
    const std::string note(70 * 1024, 'n');
    const auto big = [&](int key) {
        return "INSERT INTO enroll (user_id, note) VALUES (" + std::to_string(key) + ", '" + note +
               "')";
    };
    REQUIRE(f.query(big(2)).kind == Kind::forward);
    REQUIRE(f.query(big(3)).kind == Kind::forward);
    CHECK(f.g().counters().shape_passes.load() == 0);
    CHECK(f.g().counters().passed.load() == 3);
}

TEST_CASE("ThePlanCacheIsBoundedInBytes", "[mysql][shape]") {
    Fixture f;
    ShapePlanCache<MySqlInsertShapePlan> cache;
    const std::string a(3u << 20, 'a'), b(3u << 20, 'b'), c(3u << 20, 'c');
    cache.store(*f.registry, a, std::nullopt);
    cache.store(*f.registry, b, MySqlInsertShapePlan{});
    CHECK(cache.find(*f.registry, a) != nullptr);
    CHECK(cache.find(*f.registry, b) != nullptr);
    cache.store(*f.registry, b, std::nullopt);  // replaced, not counted twice
    CHECK(cache.find(*f.registry, a) != nullptr);
    cache.store(*f.registry, c, std::nullopt);  // past 8 MiB: the cache starts afresh
    CHECK(cache.find(*f.registry, a) == nullptr);
    CHECK(cache.find(*f.registry, b) == nullptr);
    CHECK(cache.find(*f.registry, c) != nullptr);
    // A key larger than the whole bound is never kept, and costs the others nothing.
    cache.store(*f.registry, std::string(9u << 20, 'd'), std::nullopt);
    CHECK(cache.find(*f.registry, std::string(9u << 20, 'd')) == nullptr);
    CHECK(cache.find(*f.registry, c) != nullptr);
}

TEST_CASE("AKeyAnotherSessionHoldsLeavesTheShapePathWithNoClaimKept", "[mysql][shape][claims]") {
    Fixture a;
    Fixture b(a.registry);
    const std::string shape = "INSERT INTO enroll (user_id, note) VALUES ";
    REQUIRE(a.query(shape + "(1, 'a')").kind == Kind::forward);
    a.guard.on_command_sent();
    a.guard.on_reply(false, 0, 0x0001, true);  // a transaction is open: key 1 stays claimed
    REQUIRE(b.query(shape + "(2, 'b')").kind == Kind::forward);  // b's plan from a's thread
    b.guard.on_command_sent();
    b.guard.on_reply(false, 0, 0x0001, true);
    CHECK(b.guard.session_claims().held() == 1);
    const std::string two = "INSERT INTO enroll (user_id, note) VALUES ";
    REQUIRE(b.query(two + "(4, 'c'), (5, 'd')").kind == Kind::forward);
    b.guard.on_command_sent();
    b.guard.on_reply(false, 0, 0x0001, true);
    CHECK(b.guard.session_claims().held() == 3);
    // Key 1 is a's: b waits, and key 6, claimed on the shape path, is let go again.
    CHECK(b.query(two + "(6, 'e'), (1, 'f')").kind == Kind::wait);
    CHECK(b.guard.waiting_for() == &a.g());
    CHECK(b.guard.session_claims().held() == 3);
    CHECK(a.g().claims().size() == 4);
    // a commits: key 1 is free but in the key set, so the server is asked about it.
    a.query("COMMIT");
    a.guard.on_command_sent();
    a.guard.on_reply(false, 0, 0x0002, true);
    auto step = b.query(two + "(6, 'e'), (1, 'f')");
    REQUIRE(step.kind == Kind::check);
    CHECK(step.sql == "SELECT CONCAT(EXISTS(SELECT 1 FROM `app`.`enroll` WHERE `user_id` = 1))");
    CHECK(b.guard.session_claims().held() == 5);  // 6 and 1, while the server is asked
    CHECK(signals(b.answer("1"), "1062", "Duplicate entry '1' for key 'enroll_uniq'"));
    CHECK(b.guard.session_claims().held() == 3);
}

TEST_CASE("AnEmptyStringUnderEmptyStringIsNullAndTheLogActionOnTheShapePath", "[mysql][shape]") {
    SECTION("'' is NULL to the server: the full way reads it, and a NULL is no key") {
        Fixture f;
        f.settings = MySqlSessionSettings(45, sql::MySqlDialect{}, "EMPTY_STRING_IS_NULL");
        const std::string shape = "INSERT INTO enroll (user_id, note) VALUES ";
        REQUIRE(f.query(shape + "('5', 'a')").kind == Kind::forward);
        REQUIRE(f.query(shape + "('', 'b')").kind == Kind::forward);
        CHECK(f.g().keys().size() == 1);
        CHECK(f.g().counters().shape_passes.load() == 0);
        REQUIRE(f.query(shape + "('6', 'c')").kind == Kind::forward);
        CHECK(f.g().counters().shape_passes.load() == 1);
        CHECK(f.g().keys().size() == 2);
    }
    SECTION("log claims nothing on the shape path either") {
        Fixture f(config::GuardAction::log);
        const std::string shape = "INSERT INTO enroll (user_id, note) VALUES ";
        REQUIRE(f.query(shape + "(1, 'a')").kind == Kind::forward);
        REQUIRE(f.query(shape + "(2, 'b')").kind == Kind::forward);
        CHECK(f.g().counters().shape_passes.load() == 1);
        CHECK(f.g().claims().size() == 0);
        CHECK(f.g().keys().size() == 2);
        // A duplicate is logged by the full way (checked, then forwarded).
        REQUIRE(f.query(shape + "(2, 'c')").kind == Kind::check);
        CHECK(f.answer("1").kind == Kind::forward);
        CHECK(f.g().counters().logged.load() == 1);
    }
}
