// MySqlGuard: a text INSERT … SELECT into a guarded table, and a text UPDATE setting a key column
// to an expression, staged (proxy/mysql_guard_staged.cpp); the SQL they send
// (guard/mysql_stage_sql.hpp). Against the real server:
// tests/integration/test_mysql_guard_insert_select.py, test_mysql_guard_update_staged.py.
#include <catch2/catch.hpp>
#include <string>

#include "guard/key_fingerprint.hpp"
#include "guard/mysql_stage_sql.hpp"
#include "mysql_guard_fixture.hpp"

using namespace uniqguard;
using namespace uniqguard::proxy;
using Kind = MySqlGuard::Step::Kind;
using Fixture = uniqguard::test::MySqlGuardFixture;
using uniqguard::test::signals;

namespace {

// The client writes `enroll` unqualified: the stage is in its current database.
const std::string stage = "`" + guard::mysql_stage_name("", "enroll") + "`";

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

std::string hex(const std::string& s) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (const unsigned char c : s) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

// The columns query's answer for app.enroll (id AUTO_INCREMENT, user_id, note).
const std::string enroll_columns =
    "7/a" + hex("id") + ",c" + hex("user_id") + ",c" + hex("note") + ",g" + hex("twice");

bool knows(Fixture& f, std::int64_t key) {
    std::string encoded;
    guard::append_key_part(encoded, f.g().mysql_table()->keys.literal_key(
                                        0, guard::MySqlLiteral::exact_number, std::to_string(key),
                                        guard::ClientCharset::utf8mb4));
    return f.g().keys().contains(guard::fingerprint_encoded_key(encoded, f.g().seed()));
}

// Answers the stage commands before the check (the columns query with `columns`, the others
// OK); returns the step after the last (the check, or a refusal).
MySqlGuard::Step staged(Fixture& f, const std::string& sql,
                        const std::string& columns = enroll_columns) {
    // Outside a transaction (autocommit): the check is a plain read unless the statement waited.
    f.session.status_seen = true;
    f.session.server_status = 0x0002;
    auto step = f.query(sql);
    REQUIRE(step.kind == Kind::check);
    CHECK(step.sql.rfind("SELECT CONCAT(LAST_INSERT_ID(), '/'", 0) == 0);
    step = f.answer(columns);
    if (step.kind != Kind::check) return step;
    CHECK(step.sql == "DROP TEMPORARY TABLE IF EXISTS " + stage);
    step = reply_to(f, ok_packet);
    REQUIRE(step.kind == Kind::check);
    CHECK(step.sql == "CREATE TEMPORARY TABLE " + stage + " LIKE `enroll`");
    step = reply_to(f, ok_packet);
    REQUIRE(step.kind == Kind::check);
    return step;
}

guard::MySqlKeyColumnType integer() {
    guard::MySqlKeyColumnType id;
    id.kind = guard::MySqlKeyColumnType::Kind::integer;
    id.integer = {4, false};
    return id;
}

}  // namespace

TEST_CASE("TheStagedInsertSql", "[mysql][guard][insert_select]") {
    const guard::MySqlKeyColumns two({{"b", integer(), nullptr}, {"c", integer(), nullptr}});
    const auto sql = guard::mysql_staged_insert_sql("s", "t", "(b, `x`) SELECT 1, 2", {&two});
    const std::string st = "`s`.`" + guard::mysql_stage_name("s", "t") + "`";
    CHECK(guard::mysql_stage_name("s", "t").size() == 32);
    CHECK(guard::mysql_stage_name("s", "t") != guard::mysql_stage_name("s", "u"));
    REQUIRE(sql.stage.size() == 4);
    CHECK(sql.stage[0] ==
          "SELECT CONCAT(LAST_INSERT_ID(), '/', COALESCE(GROUP_CONCAT(CONCAT(IF(EXTRA LIKE "
          "'%auto_increment%', 'a', IF(EXTRA LIKE '%VIRTUAL GENERATED%' OR EXTRA LIKE '%STORED "
          "GENERATED%', 'g', 'c')), HEX(COLUMN_NAME)) ORDER BY ORDINAL_POSITION SEPARATOR ','), "
          "'')) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = CONVERT(UNHEX('73') USING "
          "utf8mb4) AND TABLE_NAME = CONVERT(UNHEX('74') USING utf8mb4)");
    CHECK(sql.stage[1] == "DROP TEMPORARY TABLE IF EXISTS " + st);
    CHECK(sql.stage[2] == "CREATE TEMPORARY TABLE " + st + " LIKE `s`.`t`");
    CHECK(sql.stage[3] == "INSERT INTO " + st + " (b, `x`) SELECT 1, 2");
    // The table unaliased (LOCK TABLES), the stage read once.
    CHECK(sql.probe ==
          "SELECT CONCAT((SELECT CONCAT(COUNT(*), '/', COALESCE(GROUP_CONCAT(CONCAT(IF("
          "uniqguard_e > 0, '!', IF(uniqguard_c > 1, '!+', '')), uniqguard_h, '.') SEPARATOR "
          "','), '')) "
          "FROM (SELECT COUNT(*) AS uniqguard_c, COUNT(`s`.`t`.`b`) AS uniqguard_e, "
          "MIN(CONCAT_WS(':', HEX(CONVERT(uniqguard_s.`b` USING utf8mb4)), "
          "HEX(CONVERT(uniqguard_s.`c` USING utf8mb4)))) AS uniqguard_h FROM " +
              st +
              " AS uniqguard_s LEFT JOIN `s`.`t` ON `s`.`t`.`b` = uniqguard_s.`b` AND "
              "`s`.`t`.`c` = uniqguard_s.`c` WHERE uniqguard_s.`b` IS NOT NULL AND "
              "uniqguard_s.`c` IS NOT NULL GROUP BY uniqguard_s.`b`, uniqguard_s.`c`) AS "
              "uniqguard_g))");
    CHECK(sql.locking_probe.find(" LEFT JOIN (SELECT `b`, `c` FROM `s`.`t` WHERE (`b`, `c`) IN "
                                 "(SELECT `b`, `c` FROM " +
                                 st +
                                 ") LOCK IN SHARE MODE) AS uniqguard_t ON uniqguard_t.`b` = "
                                 "uniqguard_s.`b` AND ") != std::string::npos);
    CHECK(guard::mysql_stage_copy_sql("", "t", {"b", "x"}) ==
          "INSERT INTO `t` (`b`, `x`) SELECT `b`, `x` FROM `" + guard::mysql_stage_name("", "t") +
              "`");
    const auto columns = guard::mysql_read_table_columns("0/a6964,c78");
    REQUIRE(columns);
    CHECK(columns->last_insert_id == "0");
    REQUIRE(columns->columns.size() == 2);
    CHECK(columns->columns[0].name == "id");
    CHECK(columns->columns[0].kind == 'a');
    CHECK(columns->columns[1].name == "x");
    CHECK(!guard::mysql_read_table_columns("0/a6"));  // half a byte
    CHECK(!guard::mysql_read_table_columns("x/c78"));
    CHECK(guard::mysql_read_table_columns("12/")->columns.empty());
}

TEST_CASE("AnInsertSelectIsStagedCheckedAndCopied", "[mysql][guard][insert_select]") {
    Fixture f;
    auto step = staged(f, "INSERT INTO enroll (note, user_id) SELECT n, u FROM src WHERE x = 1");
    CHECK(step.sql == "INSERT INTO " + stage + " (note, user_id) SELECT n, u FROM src WHERE x = 1");
    step = reply_to(f, ok_packet);
    REQUIRE(step.kind == Kind::check);
    CHECK(step.sql.rfind("SELECT CONCAT((SELECT CONCAT(COUNT(*)", 0) == 0);
    CHECK(step.sql.find("LOCK IN SHARE MODE") == std::string::npos);
    // Two keys, 5 and 12 (hex of their text), neither a duplicate: the copy of every column but
    // the AUTO_INCREMENT and generated ones goes in the statement's place, the keys known and
    // claimed first.
    step = f.answer("2/35.,3132.");
    REQUIRE(step.kind == Kind::replace);
    CHECK(step.sql ==
          "INSERT INTO `enroll` (`user_id`, `note`) SELECT `user_id`, `note` FROM " + stage);
    CHECK(step.before.empty());
    CHECK(knows(f, 5));
    CHECK(knows(f, 12));
    CHECK(f.g().claims().size() == 2);
    CHECK(f.g().counters().checked.load() == 1);
    CHECK(f.g().counters().passed.load() == 1);
}

TEST_CASE("AnInsertSelectWithADuplicateFailsAsTheIndex", "[mysql][guard][insert_select]") {
    Fixture f;
    staged(f, "INSERT INTO enroll (note) SELECT 'x'");
    reply_to(f, ok_packet);
    auto step = f.answer("2/35.,!3132.");
    CHECK(signals(step, "1062", "Duplicate entry '12' for key 'enroll_uniq'"));
    // LAST_INSERT_ID() as before the stage's own counter moved it.
    CHECK(step.before == std::vector<std::string>{"\x03"
                                                  "DO LAST_INSERT_ID(7)"});
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
                                guard::mysql_stage_name("", "enroll") + "`.`user_id` at row 1";
    auto step = reply_to(f, std::string("\xFF\x56\x05#22007", 9) + message);
    CHECK(step.kind == Kind::replace);
    CHECK(step.sql == guard::mysql_signal_sql(1366, "22007",
                                              "Incorrect integer value: 'abc' for column "
                                              "`app`.`enroll`.`user_id` at row 1"));
    CHECK(f.g().claims().size() == 0);
    // The stage cannot be made: refused, naming the guard and the server's error.
    REQUIRE(f.query("INSERT INTO enroll (user_id) SELECT 1").kind == Kind::check);
    f.answer(enroll_columns);
    const auto refused =
        reply_to(f, std::string("\xFF\x14\x04#42000", 9) + "Access denied for user 'u'@'h'");
    CHECK(refused.kind == Kind::replace);
    CHECK(refused.sql ==
          guard::mysql_signal_sql(1235, "42000",
                                  "uniqguard: guard \"enroll_uniq\" could not stage the rows of "
                                  "an INSERT … SELECT on table \"app.enroll\" (ERROR 1044: Access "
                                  "denied for user 'u'@'h'); the statement was refused"));
    // One the statement would meet itself (a READ ONLY transaction): its own.
    REQUIRE(f.query("INSERT INTO enroll (user_id) SELECT 1").kind == Kind::check);
    f.answer(enroll_columns);
    step = reply_to(f, std::string("\xFF\x00\x07#25006", 9) +
                           "Cannot execute statement in a READ ONLY transaction");
    CHECK(step.sql == guard::mysql_signal_sql(
                          1792, "25006", "Cannot execute statement in a READ ONLY transaction"));
}

TEST_CASE("AnInsertSelectThatCannotBeCopiedIsRefused", "[mysql][guard][insert_select]") {
    Fixture f;
    const auto refusal = [](const std::string& what) {
        return mysql_unenforced_message(what, "app.enroll", "enroll_uniq");
    };
    CHECK(signals(staged(f, "INSERT INTO enroll SELECT 1, 2, 'x'"), "1235",
                  refusal("INSERT … SELECT without a column list into a table with an "
                          "AUTO_INCREMENT column (`id`)")));
    CHECK(signals(staged(f, "INSERT INTO enroll (ID, user_id) SELECT 1, 2"), "1235",
                  refusal("INSERT … SELECT that gives the AUTO_INCREMENT column `id`")));
    CHECK(f.g().claims().size() == 0);
    // Without one, and without a column list: every column but the generated one is copied.
    staged(f, "INSERT INTO enroll SELECT 1, 'x'",
           "0/c" + hex("user_id") + ",c" + hex("note") + ",g" + hex("twice"));
    reply_to(f, ok_packet);
    CHECK(f.answer("1/31.").sql ==
          "INSERT INTO `enroll` (`user_id`, `note`) SELECT `user_id`, `note` FROM " + stage);
}

TEST_CASE("AfterAWaitTheCheckIsALockingRead", "[mysql][guard][insert_select]") {
    Fixture a;
    Fixture b(a.registry);
    // A claims 5 (an INSERT of it in a transaction in flight).
    REQUIRE(a.query("INSERT INTO enroll (user_id) VALUES (5)").kind == Kind::forward);
    a.guard.on_command_sent();
    a.guard.on_reply(false, 0, 0x0001, true);
    staged(b, "INSERT INTO enroll (user_id) SELECT 5");
    reply_to(b, ok_packet);
    CHECK(b.answer("1/35.").kind == Kind::wait);
    // A's transaction ends: B is decided afresh, and its check reads the latest rows.
    a.guard.on_command_sent();
    a.guard.on_reply(false, 0, 0x0002, true);
    auto step = staged(b, "INSERT INTO enroll (user_id) SELECT 5");
    step = reply_to(b, ok_packet);
    CHECK(step.sql.find("LOCK IN SHARE MODE") != std::string::npos);
    CHECK(signals(b.answer("1/!35."), "1062", "Duplicate entry '5' for key 'enroll_uniq'"));
}

TEST_CASE("AnInsertSelectUnderLogCopiesOnce", "[mysql][guard][insert_select]") {
    Fixture f(config::GuardAction::log);
    staged(f, "INSERT INTO enroll (user_id) SELECT 5");
    reply_to(f, ok_packet);
    // The duplicate logged; the copy goes (the SELECT ran once, in the stage).
    CHECK(f.answer("1/!35.").kind == Kind::replace);
    CHECK(f.g().counters().logged.load() == 1);
    CHECK(f.g().claims().size() == 0);
    // A stage that cannot be made under log: the statement goes as it came.
    REQUIRE(f.query("INSERT INTO enroll (user_id) SELECT 5").kind == Kind::check);
    f.answer(enroll_columns);
    CHECK(reply_to(f, std::string("\xFF\x14\x04#42000", 9) + "denied").kind == Kind::forward);
}

TEST_CASE("InsertSelectFormsThatAreNotStaged", "[mysql][guard][insert_select]") {
    Fixture f;
    const auto refused = [&](const std::string& sql, const std::string& what) {
        return signals(f.query(sql), "1235",
                       mysql_unenforced_message(what, "app.enroll", "enroll_uniq"));
    };
    CHECK(refused("REPLACE INTO enroll (user_id) SELECT 1", "REPLACE … SELECT"));
    CHECK(refused("INSERT INTO enroll PARTITION (p0) (user_id) SELECT 1",
                  "INSERT … SELECT into a PARTITION list"));
    CHECK(refused("INSERT INTO enroll (user_id) SELECT 1 RETURNING id",
                  "INSERT … SELECT … RETURNING"));
    CHECK(refused("INSERT INTO enroll (enroll.user_id) SELECT 1",
                  "INSERT … SELECT with a column list naming table.column"));
    CHECK(refused("INSERT INTO enroll (user_id) SELECT 1 /*!100000 FROM DUAL */",
                  "INSERT … SELECT with an executable comment (/*! … */)"));
}

TEST_CASE("AnInsertIgnoreSelectCopiesAllButTheDuplicates", "[mysql][guard][insert_select]") {
    Fixture f;
    auto step = staged(f, "INSERT IGNORE INTO enroll (user_id) SELECT u FROM src");
    CHECK(step.sql == "INSERT IGNORE INTO " + stage + " (user_id) SELECT u FROM src");
    step = reply_to(f, ok_packet);
    REQUIRE(step.kind == Kind::check);
    // 12 is the table's: dropped by the copy, logged as ignored, not refused, not claimed.
    step = f.answer("2/35.,!3132.");
    REQUIRE(step.kind == Kind::replace);
    CHECK(step.sql ==
          "INSERT IGNORE INTO `enroll` (`user_id`, `note`) SELECT `user_id`, `note` "
          "FROM " +
              stage +
              " AS uniqguard_s WHERE NOT EXISTS (SELECT 1 FROM `enroll` WHERE "
              "`enroll`.`user_id` = uniqguard_s.`user_id`)");
    CHECK(knows(f, 5));
    CHECK(f.g().claims().size() == 1);
    CHECK(f.g().counters().ignored.load() == 1);
    CHECK(f.g().counters().rejected.load() == 0);
    CHECK(f.g().counters().passed.load() == 1);
}

TEST_CASE("UnderIgnoreRowsRepeatingAKeyAmongThemselvesAreRefused",
          "[mysql][guard][insert_select]") {
    Fixture f(config::GuardAction::ignore);
    const std::string columns = "7/c" + hex("user_id") + ",c" + hex("note");
    auto step = staged(f, "INSERT INTO enroll SELECT u, n FROM src", columns);
    CHECK(step.sql == "INSERT INTO " + stage + " SELECT u, n FROM src");
    // The fill's error is the statement's.
    step = reply_to(f, std::string("\xFF\x18\x04#23000", 9) + "Column 'user_id' cannot be null");
    CHECK(step.kind == Kind::replace);
    CHECK(step.sql == guard::mysql_signal_sql(1048, "23000", "Column 'user_id' cannot be null"));
    CHECK(f.g().counters().refused.load() == 1);
    // 5 twice among the rows, in no row of the table: which one a unique key keeps depends on
    // what the copy would skip for other reasons. Refused, LAST_INSERT_ID() put back.
    staged(f, "INSERT INTO enroll SELECT u, n FROM src", columns);
    reply_to(f, ok_packet);
    step = f.answer("2/!+35.,!3132.");
    CHECK(signals(step, "1235",
                  mysql_unenforced_message(
                      "an INSERT … SELECT under action \"ignore\" whose rows repeat a key among "
                      "themselves",
                      "app.enroll", "enroll_uniq")));
    CHECK(step.before == std::vector<std::string>{"\x03"
                                                  "DO LAST_INSERT_ID(7)"});
    CHECK(f.g().claims().size() == 0);
    // Not IGNORE (the client's statement is not): the copy is a plain INSERT.
    staged(f, "INSERT INTO enroll SELECT u, n FROM src", columns);
    reply_to(f, ok_packet);
    step = f.answer("1/!35.");
    REQUIRE(step.kind == Kind::replace);
    CHECK(step.sql.rfind("INSERT INTO `enroll` (`user_id`, `note`) SELECT", 0) == 0);
    CHECK(f.g().counters().ignored.load() == 1);
}

TEST_CASE("TheStagedUpdateSql", "[mysql][guard][update_staged]") {
    const guard::MySqlKeyColumns one({{"b", integer(), nullptr}});
    const std::string st = "`s`.`" + guard::mysql_stage_name("s", "t") + "`";
    const auto sql = guard::mysql_staged_update_sql("s", "t", "", "id = 2", "b = b + 1", {&one});
    REQUIRE(sql.stage.size() == 5);
    CHECK(sql.stage[0].rfind("SELECT CONCAT(LAST_INSERT_ID(), '/'", 0) == 0);
    CHECK(sql.stage[1] == "DROP TEMPORARY TABLE IF EXISTS " + st);
    CHECK(sql.stage[2] == "CREATE TEMPORARY TABLE " + st + " LIKE `s`.`t`");
    CHECK(sql.stage[3].empty());  // from the columns
    CHECK(sql.stage[4] == "UPDATE " + st + " AS `t` SET b = b + 1");
    CHECK(
        guard::mysql_staged_update_fill("s", "t", "x", "id = 2", {"id", "b"}) ==
        "INSERT IGNORE INTO " + st +
            " (`id`, `b`) SELECT `id`, `b` FROM `s`.`t` AS `x` WHERE (id = 2) IS TRUE FOR UPDATE");
    CHECK(sql.probe ==
          "SELECT CONCAT((SELECT CONCAT(COUNT(*), '/', COALESCE(GROUP_CONCAT(CONCAT(IF("
          "uniqguard_e > 0, '!', IF(uniqguard_c > 1, '!+', '')), uniqguard_h, '.') SEPARATOR "
          "','), '')) "
          "FROM (SELECT COUNT(*) AS uniqguard_c, COUNT(uniqguard_t.`b`) AS uniqguard_e, "
          "MIN(CONCAT_WS(':', HEX(CONVERT(uniqguard_s.`b` USING utf8mb4)))) AS uniqguard_h FROM " +
              st +
              " AS uniqguard_s LEFT JOIN (SELECT `b` FROM `s`.`t` WHERE NOT ((id = 2) IS TRUE)) "
              "AS uniqguard_t ON uniqguard_t.`b` = uniqguard_s.`b` WHERE uniqguard_s.`b` IS NOT "
              "NULL GROUP BY uniqguard_s.`b`) AS uniqguard_g))");
    CHECK(sql.locking_probe.find("(SELECT `b` FROM `s`.`t` WHERE (`b`) IN (SELECT `b` FROM " + st +
                                 ") AND NOT ((id = 2) IS TRUE) LOCK IN SHARE MODE)") !=
          std::string::npos);
    // An alias names the stage; no WHERE: every row is matched, none left.
    const auto all = guard::mysql_staged_update_sql("s", "t", "x", std::nullopt, "x.b = 7", {&one});
    CHECK(all.stage[4] == "UPDATE " + st + " AS `x` SET x.b = 7");
    CHECK(all.probe.find("(SELECT `b` FROM `s`.`t` AS `x` WHERE NOT (TRUE))") != std::string::npos);
    // In the primary key's order: a later matched row's old key counts too.
    const auto ordered =
        guard::mysql_staged_update_sql("s", "t", "", "id > 2", "b = b + 1", {&one}, "id");
    CHECK(ordered.probe.find("LEFT JOIN (SELECT `b`, `id` AS uniqguard_o, NOT ((id > 2) IS TRUE) "
                             "AS uniqguard_l FROM `s`.`t`) AS uniqguard_t ON uniqguard_t.`b` = "
                             "uniqguard_s.`b` AND (uniqguard_t.uniqguard_l OR "
                             "uniqguard_t.uniqguard_o > uniqguard_s.`id`) WHERE") !=
          std::string::npos);
}

TEST_CASE("AnUpdateToAnExpressionIsStagedAndGoesUnchanged", "[mysql][guard][update_staged]") {
    Fixture f;
    auto step = staged(f, "UPDATE enroll SET user_id = user_id + 1 WHERE note = 'x'");
    // Every column by name, but the generated one.
    CHECK(step.sql == "INSERT IGNORE INTO " + stage +
                          " (`id`, `user_id`, `note`) SELECT `id`, `user_id`, `note` FROM `enroll` "
                          "WHERE (note = 'x') IS TRUE FOR UPDATE");
    step = reply_to(f, ok_packet);
    REQUIRE(step.kind == Kind::check);
    CHECK(step.sql == "UPDATE " + stage + " AS `enroll` SET user_id = user_id + 1");
    step = reply_to(f, ok_packet);
    REQUIRE(step.kind == Kind::check);
    // New keys 5 and 12, free: the UPDATE goes as it came, its new keys known and claimed.
    CHECK(f.answer("2/35.,3132.").kind == Kind::forward);
    CHECK(knows(f, 5));
    CHECK(knows(f, 12));
    CHECK(f.g().claims().size() == 2);
    // Onto a key another row holds: the unique key's error.
    staged(f, "UPDATE enroll SET user_id = DEFAULT WHERE id = 1");
    reply_to(f, ok_packet);
    reply_to(f, ok_packet);
    step = f.answer("1/!35.");
    CHECK(signals(step, "1062", "Duplicate entry '5' for key 'enroll_uniq'"));
    CHECK(step.before.empty());
    // The SET list's own error (its value out of range, say) is the UPDATE's.
    staged(f, "UPDATE enroll SET user_id = user_id * 100000000000 WHERE id = 1");
    reply_to(f, ok_packet);
    const auto error = reply_to(f, std::string("\xFF\xF0\x04#22003", 9) +
                                       "Out of range value for column 'user_id' at row 1");
    CHECK(error.kind == Kind::replace);
    CHECK(error.sql == guard::mysql_signal_sql(1264, "22003",
                                               "Out of range value for column 'user_id' at row 1"));
    CHECK(f.g().claims().size() == 2);  // the first UPDATE's, its transaction not ended here
}

TEST_CASE("UpdatesToExpressionsThatAreNotStaged", "[mysql][guard][update_staged]") {
    Fixture f;
    const auto refused = [&](const std::string& sql, const std::string& what) {
        return signals(f.query(sql), "1235",
                       mysql_unenforced_message(what, "app.enroll", "enroll_uniq"));
    };
    CHECK(refused("UPDATE enroll SET user_id = FLOOR(RAND() * 10)",
                  "an UPDATE of a key column whose SET list holds the function RAND() (the "
                  "proxy's check could compute other values than the UPDATE)"));
    CHECK(refused("UPDATE enroll SET user_id = (SELECT MAX(user_id) FROM enroll) + 1",
                  "an UPDATE of a key column whose SET list holds a subquery (the proxy's check "
                  "could compute other values than the UPDATE)"));
    CHECK(refused("UPDATE enroll PARTITION (p0) SET user_id = user_id + 1",
                  "an UPDATE … PARTITION (…) setting a key column to an expression"));
    CHECK(refused("UPDATE enroll SET user_id = user_id /*!+1*/",
                  "an UPDATE of a key column with an executable comment (/*! … */)"));
}

TEST_CASE("APreparedUpdateToAnExpressionIsStagedAtEachExecute", "[mysql][guard][update_staged]") {
    Fixture f;
    f.session.status_seen = true;
    f.session.server_status = 0x0002;
    const auto command = [&](const std::string& payload) {
        return f.guard.on_command(payload, f.settings, f.session);
    };
    using uniqguard::test::execute;
    using uniqguard::test::prepare_ok;
    // The prepare goes: each execute is staged as its text with its values written in.
    REQUIRE(command("\x16UPDATE enroll SET user_id = user_id + ? WHERE id = ?").kind ==
            Kind::forward);
    f.guard.on_prepare_answer(util::as_bytes(prepare_ok(7, 2)));
    auto step = command(execute(7, {1, -3}));
    REQUIRE(step.kind == Kind::check);
    CHECK(step.sql.rfind("SELECT CONCAT(LAST_INSERT_ID(), '/'", 0) == 0);
    step = f.answer(enroll_columns);
    REQUIRE(step.kind == Kind::check);
    CHECK(step.sql == "DROP TEMPORARY TABLE IF EXISTS " + stage);
    reply_to(f, ok_packet);
    step = reply_to(f, ok_packet);
    REQUIRE(step.kind == Kind::check);
    CHECK(step.sql == "INSERT IGNORE INTO " + stage +
                          " (`id`, `user_id`, `note`) SELECT `id`, `user_id`, `note` FROM "
                          "`enroll` WHERE (id =  (-3)) IS TRUE FOR UPDATE");
    step = reply_to(f, ok_packet);
    REQUIRE(step.kind == Kind::check);
    CHECK(step.sql == "UPDATE " + stage + " AS `enroll` SET user_id = user_id +  1");
    step = reply_to(f, ok_packet);
    REQUIRE(step.kind == Kind::check);
    // A new key: the client's execute goes as it came; a duplicate: the SIGNAL in its place.
    CHECK(f.answer("1/35.").kind == Kind::forward);
    CHECK(knows(f, 5));
    command(execute(7, {1, 4}, false));
    f.answer(enroll_columns);
    for (int i = 0; i < 4; ++i) reply_to(f, ok_packet);
    step = f.answer("1/!35.");
    CHECK(step.kind == Kind::replace);
    CHECK(step.sql ==
          guard::mysql_signal_sql(1062, "23000", "Duplicate entry '5' for key 'enroll_uniq'"));
}

TEST_CASE("InATransactionTheStagedCheckIsALockingRead", "[mysql][guard][update_staged]") {
    Fixture f;
    f.session.status_seen = true;
    f.session.server_status = 0x0003;  // in a transaction
    REQUIRE(f.query("INSERT INTO enroll (user_id) SELECT 1").kind == Kind::check);
    f.answer(enroll_columns);
    reply_to(f, ok_packet);
    reply_to(f, ok_packet);
    const auto check = reply_to(f, ok_packet);
    REQUIRE(check.kind == Kind::check);
    CHECK(check.sql.find("LOCK IN SHARE MODE") != std::string::npos);
}
