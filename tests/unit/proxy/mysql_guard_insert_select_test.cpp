// MySqlGuard: a text INSERT … SELECT into a guarded table, staged
// (proxy/mysql_guard_insert_select.cpp); the SQL it sends (guard/mysql_insert_select_sql.hpp).
// Against the real server: tests/integration/test_mysql_guard_insert_select.py.
#include <catch2/catch.hpp>
#include <string>

#include "guard/key_fingerprint.hpp"
#include "guard/mysql_insert_select_sql.hpp"
#include "mysql_guard_fixture.hpp"

using namespace uniqguard;
using namespace uniqguard::proxy;
using Kind = MySqlGuard::Step::Kind;
using Fixture = uniqguard::test::MySqlGuardFixture;
using uniqguard::test::signals;

namespace {

const std::string stage = "`app`.`" + guard::mysql_stage_name("app", "enroll") + "`";

// An OK packet (a statement without a result), or an ERR, as the reply to a stage command.
MySqlGuard::Step reply_to(Fixture& f, const std::string& payload) {
    std::string bytes;
    protocol::mysql::append_packet(bytes, 1, payload);
    protocol::mysql::ValueReplyReader reply(true);
    reply.feed(util::as_bytes(bytes));
    REQUIRE(reply.status() == protocol::mysql::ValueReplyReader::Status::done);
    return f.guard.on_check_reply(reply);
}
const std::string ok_packet("\x00\x00\x00\x02\x00\x00\x00", 7);

bool knows(Fixture& f, std::int64_t key) {
    std::string encoded;
    guard::append_key_part(encoded, f.g().mysql_table()->keys.literal_key(
                                        0, guard::MySqlLiteral::exact_number, std::to_string(key),
                                        guard::ClientCharset::utf8mb4));
    return f.g().keys().contains(guard::fingerprint_encoded_key(encoded, f.g().seed()));
}

// Runs the three stage commands (answered OK) up to the check; returns the check.
MySqlGuard::Step staged(Fixture& f, const std::string& sql) {
    auto step = f.query(sql);
    REQUIRE(step.kind == Kind::check);
    CHECK(step.sql == "DROP TEMPORARY TABLE IF EXISTS " + stage);
    step = reply_to(f, ok_packet);
    REQUIRE(step.kind == Kind::check);
    CHECK(step.sql == "CREATE TEMPORARY TABLE " + stage + " LIKE `app`.`enroll`");
    step = reply_to(f, ok_packet);
    REQUIRE(step.kind == Kind::check);
    return step;
}

}  // namespace

TEST_CASE("TheStagedInsertSql", "[mysql][guard][insert_select]") {
    guard::MySqlKeyColumnType id;
    id.kind = guard::MySqlKeyColumnType::Kind::integer;
    id.integer = {4, false};
    const guard::MySqlKeyColumns two({{"b", id, nullptr}, {"c", id, nullptr}});
    const auto sql =
        guard::mysql_staged_insert_sql("s", "t", "(b, `x`) SELECT 1, 2", {"b", "x", "c"}, {&two});
    const std::string st = "`s`.`" + guard::mysql_stage_name("s", "t") + "`";
    CHECK(guard::mysql_stage_name("s", "t").size() == 32);
    CHECK(guard::mysql_stage_name("s", "t") != guard::mysql_stage_name("s", "u"));
    CHECK(sql.drop_stage == "DROP TEMPORARY TABLE IF EXISTS " + st);
    CHECK(sql.create_stage == "CREATE TEMPORARY TABLE " + st + " LIKE `s`.`t`");
    CHECK(sql.fill == "INSERT INTO " + st + " (b, `x`) SELECT 1, 2");
    CHECK(sql.copy == "INSERT INTO `s`.`t` (`b`, `x`, `c`) SELECT `b`, `x`, `c` FROM " + st);
    CHECK(sql.probe ==
          "SELECT CONCAT((SELECT CONCAT(COUNT(*), '/', COALESCE(GROUP_CONCAT(CONCAT(IF("
          "uniqguard_c > 1 OR uniqguard_e > 0, '!', ''), uniqguard_h, '.') SEPARATOR ','), '')) "
          "FROM (SELECT COUNT(*) AS uniqguard_c, COUNT(uniqguard_t.`b`) AS uniqguard_e, "
          "MIN(CONCAT_WS(':', HEX(CONVERT(uniqguard_s.`b` USING utf8mb4)), "
          "HEX(CONVERT(uniqguard_s.`c` USING utf8mb4)))) AS uniqguard_h FROM " +
              st +
              " AS uniqguard_s LEFT JOIN `s`.`t` AS uniqguard_t ON uniqguard_t.`b` = "
              "uniqguard_s.`b` AND uniqguard_t.`c` = uniqguard_s.`c` WHERE uniqguard_s.`b` IS "
              "NOT NULL AND uniqguard_s.`c` IS NOT NULL GROUP BY uniqguard_s.`b`, "
              "uniqguard_s.`c`) AS uniqguard_g))");
}

TEST_CASE("AnInsertSelectIsStagedCheckedAndCopied", "[mysql][guard][insert_select]") {
    Fixture f;
    auto step = staged(f, "INSERT INTO enroll (note, user_id) SELECT n, u FROM src WHERE x = 1");
    CHECK(step.sql == "INSERT INTO " + stage + " (note, user_id) SELECT n, u FROM src WHERE x = 1");
    step = reply_to(f, ok_packet);
    REQUIRE(step.kind == Kind::check);
    CHECK(step.sql.rfind("SELECT CONCAT((SELECT CONCAT(COUNT(*)", 0) == 0);
    // Two keys, 5 and 12 (hex of their text), neither a duplicate: the copy goes in the
    // statement's place, the keys known and claimed first.
    step = f.answer("2/35.,3132.");
    REQUIRE(step.kind == Kind::replace);
    CHECK(step.sql ==
          "INSERT INTO `app`.`enroll` (`note`, `user_id`) SELECT `note`, `user_id` "
          "FROM " +
              stage);
    CHECK(knows(f, 5));
    CHECK(knows(f, 12));
    CHECK(f.g().claims().size() == 2);
    CHECK(f.g().counters().checked.load() == 1);
    CHECK(f.g().counters().passed.load() == 1);
}

TEST_CASE("AnInsertSelectWithADuplicateFailsAsTheIndex", "[mysql][guard][insert_select]") {
    Fixture f;
    // A key column left out of the client's list is copied too: the table stores the key the
    // check read (its default, evaluated once in the stage).
    staged(f, "INSERT INTO enroll (note) SELECT 'x'");
    reply_to(f, ok_packet);
    CHECK(signals(f.answer("2/35.,!3132."), "1062", "Duplicate entry '12' for key 'enroll_uniq'"));
    CHECK(!knows(f, 5));
    CHECK(f.g().claims().size() == 0);
    CHECK(f.g().counters().rejected.load() == 1);
    // A list cut at group_concat_max_len (fewer keys than groups): refused, never let through.
    staged(f, "INSERT INTO enroll (note) SELECT 'x'");
    reply_to(f, ok_packet);
    CHECK(f.answer("3/35.,3132.").kind == Kind::replace);
    CHECK(f.g().counters().refused.load() == 1);
}

TEST_CASE("TheFillsErrorIsTheStatementsWithTheTablesName", "[mysql][guard][insert_select]") {
    Fixture f;
    staged(f, "INSERT INTO enroll (user_id) SELECT 'abc'");
    const std::string message = "Incorrect integer value: 'abc' for column `app`.`" +
                                guard::mysql_stage_name("app", "enroll") + "`.`user_id` at row 1";
    const auto step = reply_to(f, std::string("\xFF\x56\x05#22007", 9) + message);
    CHECK(step.kind == Kind::replace);
    CHECK(step.sql == guard::mysql_signal_sql(1366, "22007",
                                              "Incorrect integer value: 'abc' for column "
                                              "`app`.`enroll`.`user_id` at row 1"));
    CHECK(f.g().claims().size() == 0);
    // The stage cannot be made: refused, naming the guard and the server's error.
    REQUIRE(f.query("INSERT INTO enroll (user_id) SELECT 1").kind == Kind::check);
    const auto refused =
        reply_to(f, std::string("\xFF\x14\x04#42000", 9) + "Access denied for user 'u'@'h'");
    CHECK(refused.kind == Kind::replace);
    CHECK(refused.sql ==
          guard::mysql_signal_sql(1235, "42000",
                                  "uniqguard: guard \"enroll_uniq\" could not stage the rows of "
                                  "an INSERT … SELECT on table \"app.enroll\" (ERROR 1044: Access "
                                  "denied for user 'u'@'h'); the statement was refused"));
}

TEST_CASE("AnInsertSelectUnderLogRunsTheClientsOwnStatement", "[mysql][guard][insert_select]") {
    Fixture f(config::GuardAction::log);
    staged(f, "INSERT INTO enroll (user_id) SELECT 5");
    reply_to(f, ok_packet);
    CHECK(f.answer("1/!35.").kind == Kind::forward);
    CHECK(f.g().counters().logged.load() == 1);
    CHECK(f.g().claims().size() == 0);
    // A stage that fails under log: the statement goes as it came.
    REQUIRE(f.query("INSERT INTO enroll (user_id) SELECT 5").kind == Kind::check);
    CHECK(reply_to(f, std::string("\xFF\x14\x04#42000", 9) + "denied").kind == Kind::forward);
}

TEST_CASE("InsertSelectFormsThatAreNotStaged", "[mysql][guard][insert_select]") {
    Fixture f;
    const auto refused = [&](const std::string& sql, const std::string& what) {
        return signals(f.query(sql), "1235",
                       mysql_unenforced_message(what, "app.enroll", "enroll_uniq"));
    };
    CHECK(refused("REPLACE INTO enroll (user_id) SELECT 1", "REPLACE … SELECT"));
    CHECK(refused("INSERT IGNORE INTO enroll (user_id) SELECT 1", "INSERT IGNORE … SELECT"));
    CHECK(refused("INSERT INTO enroll PARTITION (p0) (user_id) SELECT 1",
                  "INSERT … SELECT into a PARTITION list"));
    CHECK(refused("INSERT INTO enroll (user_id) SELECT 1 RETURNING id",
                  "INSERT … SELECT … RETURNING"));
    Fixture ignore(config::GuardAction::ignore);
    CHECK(signals(ignore.query("INSERT INTO enroll (user_id) SELECT 1"), "1235",
                  mysql_unenforced_message("INSERT … SELECT under action \"ignore\"", "app.enroll",
                                           "enroll_uniq")));
}
