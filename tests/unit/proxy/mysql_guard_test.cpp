// What the MySQL guard does with each command (proxy/mysql_guard.hpp), on a guard over an
// integer key whose key set is filled by hand; the server's side of the same cases is in
// tests/integration/test_mysql_guard.py.
#include "proxy/mysql_guard.hpp"

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "mysql_guard_fixture.hpp"

using namespace uniqguard;
using namespace uniqguard::proxy;
using Kind = MySqlGuard::Step::Kind;
using Fixture = uniqguard::test::MySqlGuardFixture;
using uniqguard::test::execute;
using uniqguard::test::le32;
using uniqguard::test::prepare_ok;
using uniqguard::test::signals;

TEST_CASE("NewKeysPassAndJoinTheKeySet", "[mysql][guard]") {
    Fixture f;
    CHECK(f.query("INSERT INTO enroll (user_id) VALUES (1), (2)").kind == Kind::forward);
    CHECK(f.g().keys().size() == 2);
    CHECK(f.g().counters().passed.load() == 1);
    CHECK(f.query("SELECT * FROM enroll").kind == Kind::forward);
    CHECK(f.query("INSERT INTO other (user_id) VALUES (1)").kind == Kind::forward);
    CHECK(f.query("INSERT INTO elsewhere.enroll (user_id) VALUES (1)").kind == Kind::forward);
}

TEST_CASE("ASuspectedKeyIsCheckedAndTheServerDecides", "[mysql][guard]") {
    Fixture f;
    REQUIRE(f.query("INSERT INTO enroll (user_id) VALUES (1)").kind == Kind::forward);
    auto step = f.query("INSERT INTO `app`.`enroll` VALUES (NULL, 3, 'a'), (NULL, 1, 'b')");
    REQUIRE(step.kind == Kind::check);
    CHECK(step.sql == "SELECT CONCAT(EXISTS(SELECT 1 FROM `app`.`enroll` WHERE `user_id` = 1))");
    CHECK(signals(f.answer("1"), "1062", "Duplicate entry '1' for key 'enroll_uniq'"));
    CHECK(f.g().counters().rejected.load() == 1);
    // The row was deleted since (the fingerprint is stale): the server says so, it passes.
    REQUIRE(f.query("INSERT INTO enroll (user_id) VALUES (1)").kind == Kind::check);
    CHECK(f.answer("0").kind == Kind::forward);
}

TEST_CASE("AWriteAmongSeveralStatementsIsDecidedInItsPlace", "[mysql][guard]") {
    Fixture f;
    CHECK(f.query("SELECT 1; INSERT INTO enroll (user_id) VALUES (1); COMMIT").kind ==
          Kind::forward);
    CHECK(f.g().keys().size() == 1);
    // A duplicate without a check (twice in its statement): the SIGNAL takes the INSERT's place
    // only, between the statements before and after it, as they were written.
    const std::string head = "BEGIN /* a */ ;\n  ";
    const std::string tail = " ; SELECT 2";
    auto step = f.query(head + "INSERT INTO enroll (user_id) VALUES (7), (7)" + tail);
    CHECK(step.kind == Kind::replace);
    CHECK(step.sql ==
          head +
              guard::mysql_signal_sql(1062, "23000", "Duplicate entry '7' for key 'enroll_uniq'") +
              tail);
    // After a check: the same.
    REQUIRE(f.query("DO 1; INSERT INTO enroll (user_id) VALUES (1)").kind == Kind::check);
    step = f.answer("1");
    CHECK(step.sql == "DO 1; " + guard::mysql_signal_sql(
                                     1062, "23000", "Duplicate entry '1' for key 'enroll_uniq'"));
    // Strings the guard cannot decide before they run are refused whole.
    const auto refused = [&](const std::string& sql, const std::string& why) {
        return signals(
            f.query(sql), "1235",
            mysql_unenforced_message("a write in a string of several statements (" + why + ")",
                                     "app.enroll", "enroll_uniq"));
    };
    CHECK(refused("DELETE FROM enroll; INSERT INTO enroll (user_id) VALUES (1)",
                  "another statement names a guarded table"));
    CHECK(refused("ROLLBACK; INSERT INTO enroll (user_id) VALUES (1)", "a ROLLBACK before it"));
    CHECK(f.query("INSERT INTO enroll (user_id) VALUES (2); ROLLBACK").kind == Kind::forward);
    CHECK(refused("USE app; INSERT INTO enroll (user_id) VALUES (1)",
                  "SET or USE changes how the write reads"));
    CHECK(refused("XA START 'x'; INSERT INTO enroll (user_id) VALUES (3)", "an XA statement"));
    CHECK(refused("DO 1; INSERT INTO enroll (user_id) VALUES (1) ON DUPLICATE KEY UPDATE id = 1",
                  "REPLACE or ON DUPLICATE KEY UPDATE"));
    CHECK(
        refused("INSERT INTO enroll (user_id) VALUES (4); INSERT INTO enroll (user_id) VALUES (5)",
                "more than one statement writes to or names a guarded table"));
    // A loop or compound statement may run the INSERT many times (its pieces parse as
    // statements of their own).
    CHECK(
        refused("BEGIN NOT ATOMIC FOR i IN 1..2 DO DO 0; INSERT INTO enroll (user_id) VALUES "
                "(7); END FOR; END",
                "a compound statement or loop"));
    CHECK(refused("again: LOOP DO 0; INSERT INTO enroll (user_id) VALUES (7); END LOOP",
                  "a compound statement or loop"));
    CHECK(refused("CALL p(); INSERT INTO enroll (user_id) VALUES (7)",
                  "a statement before it that the proxy does not follow"));
    CHECK(f.query("INSERT INTO enroll (user_id) VALUES (8); CALL p()").kind == Kind::forward);
    // An open transaction's snapshot would be the check's, ended before the INSERT runs.
    auto in_transaction = f.session;
    in_transaction.server_status |= 0x0001;
    CHECK(signals(f.guard.on_command("\x03"
                                     "COMMIT; INSERT INTO enroll (user_id) VALUES (9)",
                                     f.settings, in_transaction),
                  "1235",
                  mysql_unenforced_message("a write in a string of several statements (a COMMIT "
                                           "or BEGIN before it ends the open transaction)",
                                           "app.enroll", "enroll_uniq")));
    CHECK(f.query("COMMIT; INSERT INTO enroll (user_id) VALUES (9)").kind == Kind::forward);
}

TEST_CASE("ACompoundStatementNamingTheTableIsRefused", "[mysql][guard]") {
    Fixture f;
    CHECK(signals(f.query("WHILE 1 DO INSERT INTO enroll (user_id) VALUES (1); END WHILE"), "1235",
                  mysql_unenforced_message(
                      "a compound statement (BEGIN NOT ATOMIC, IF, CASE, LOOP, WHILE, REPEAT, FOR)",
                      "app.enroll", "enroll_uniq")));
    // A string the lexer cannot read may hold statements the server runs before its error.
    CHECK(signals(f.query("INSERT INTO enroll (user_id) VALUES (7); SELECT X'1'"), "1235",
                  mysql_unenforced_message("a statement the proxy cannot read", "app.enroll",
                                           "enroll_uniq")));
    CHECK(f.query("INSERT INTO enroll (user_id) VALUES (X'1')").kind == Kind::forward);
    CHECK(f.g().keys().size() == 0);
}

TEST_CASE("TheSameKeyTwiceInOneStatementIsADuplicateOfTheSecondRow", "[mysql][guard]") {
    Fixture f;
    CHECK(signals(f.query("INSERT INTO enroll (user_id) VALUES (5), (6), ('5.2')"), "1062",
                  "Duplicate entry '5' for key 'enroll_uniq'"));
    CHECK(f.g().keys().size() == 0);  // nothing ran, nothing learnt
    CHECK(f.query("INSERT INTO enroll (user_id) VALUES (NULL), (NULL)").kind == Kind::forward);
}

TEST_CASE("ManySuspectedKeysAreAskedInQueriesOfAHundred", "[mysql][guard]") {
    Fixture f;
    std::string rows;
    for (int k = 1; k <= 250; ++k) rows += (k > 1 ? ", (" : "(") + std::to_string(k) + ")";
    const std::string insert = "INSERT INTO enroll (user_id) VALUES " + rows;
    REQUIRE(f.query(insert).kind == Kind::forward);  // every key new: now in the key set
    f.guard.on_command_sent();
    f.guard.on_reply(false, 0, 0x0002, true);  // autocommit: its claims end
    const auto count_exists = [](const std::string& sql) {
        std::size_t n = 0;
        for (std::size_t at = 0; (at = sql.find("EXISTS(", at)) != std::string::npos; ++at) ++n;
        return n;
    };
    SECTION("the answers of all the queries decide, in probe order") {
        auto step = f.query(insert);
        REQUIRE(step.kind == Kind::check);
        CHECK(count_exists(step.sql) == 100);
        CHECK(step.sql.find("`user_id` = 1)") != std::string::npos);
        step = f.answer(std::string(100, '0'));
        REQUIRE(step.kind == Kind::check);
        CHECK(count_exists(step.sql) == 100);
        CHECK(step.sql.find("`user_id` = 101)") != std::string::npos);
        step = f.answer(std::string(100, '0'));
        REQUIRE(step.kind == Kind::check);
        CHECK(count_exists(step.sql) == 50);
        CHECK(step.sql.find("`user_id` = 250)") != std::string::npos);
        CHECK(signals(f.answer(std::string(29, '0') + "1" + std::string(20, '0')), "1062",
                      "Duplicate entry '230' for key 'enroll_uniq'"));
        CHECK(f.g().counters().checked.load() == 1);  // one statement checked
        CHECK(f.g().counters().rejected.load() == 1);
        // None exists: forwarded after the last answer.
        REQUIRE(f.query(insert).kind == Kind::check);
        REQUIRE(f.answer(std::string(100, '0')).kind == Kind::check);
        REQUIRE(f.answer(std::string(100, '0')).kind == Kind::check);
        CHECK(f.answer(std::string(50, '0')).kind == Kind::forward);
    }
    SECTION("an answer of the wrong length in a later query refuses the statement") {
        REQUIRE(f.query(insert).kind == Kind::check);
        REQUIRE(f.answer(std::string(100, '0')).kind == Kind::check);
        CHECK(f.answer(std::string(99, '0')).kind == Kind::replace);
        CHECK(f.g().counters().refused.load() == 1);
        CHECK(f.guard.session_claims().held() == 0);
    }
}

TEST_CASE("FormsNotEnforcedYetAreRefusedNamingTheGuard", "[mysql][guard]") {
    Fixture f;
    const auto refused = [&](const std::string& sql, const std::string& what) {
        return signals(f.query(sql), "1235",
                       mysql_unenforced_message(what, "app.enroll", "enroll_uniq"));
    };
    CHECK(refused("REPLACE INTO enroll (user_id) SELECT 1", "REPLACE … SELECT"));
    CHECK(refused("INSERT INTO enroll (user_id) VALUES (1) ON DUPLICATE KEY UPDATE user_id = 2",
                  "INSERT … ON DUPLICATE KEY UPDATE that sets a key column"));
    // A plain INSERT … SELECT is staged (mysql_guard_staged_test.cpp); not among others.
    CHECK(refused("DO 1; INSERT INTO enroll (user_id) SELECT 1",
                  "INSERT … SELECT in a string of several statements"));
    CHECK(refused("UPDATE enroll SET user_id = 2 WHERE id = 1 LIMIT 1",
                  "an UPDATE … ORDER BY / LIMIT that sets a key column"));
    CHECK(refused("INSERT INTO enroll (user_id) VALUES (1); SET NAMES latin1",
                  "a write in a string of several statements (SET or USE changes how the "
                  "write reads)"));
    CHECK(refused("INSERT INTO enroll (user_id) VALUES (1 + 1)",
                  "an INSERT with a value of key column `user_id` the proxy cannot read (an "
                  "expression, DEFAULT, a character set introducer, a value the server may "
                  "convert)"));
    CHECK(refused("LOAD DATA LOCAL INFILE 'x' INTO TABLE enroll", "LOAD DATA"));
    CHECK(
        refused("SET STATEMENT sql_mode = 'NO_BACKSLASH_ESCAPES' FOR INSERT INTO enroll "
                "(user_id) VALUES (1)",
                "SET STATEMENT … FOR INSERT"));
    CHECK(f.query("UPDATE enroll SET note = 'x' WHERE user_id = 1").kind == Kind::forward);
    CHECK(f.query("DELETE FROM enroll WHERE user_id = 1").kind == Kind::forward);
    // A prepared UPDATE to an expression is staged at its executes (mysql_guard_staged_test).
    CHECK(
        f.guard
            .on_command("\x16UPDATE enroll SET user_id = ? + 1 WHERE id = 1", f.settings, f.session)
            .kind == Kind::forward);
    CHECK(signals(f.guard.on_command("\x16"
                                     "DELETE FROM enroll WHERE id = ?; UPDATE enroll SET "
                                     "user_id = ?",
                                     f.settings, f.session),
                  "1235",
                  mysql_unenforced_message("a prepared statement (COM_STMT_PREPARE) that writes",
                                           "app.enroll", "enroll_uniq")));
    CHECK(signals(f.guard.on_command("\x16INSERT INTO enroll (user_id) VALUES (? + 1)", f.settings,
                                     f.session),
                  "1235",
                  mysql_unenforced_message(
                      "a prepared INSERT with a value of key column `user_id` the proxy cannot "
                      "read (an expression, DEFAULT, a character set introducer, a value the "
                      "server may convert)",
                      "app.enroll", "enroll_uniq")));
    CHECK(f.g().counters().refused.load() == 10);
}

TEST_CASE("LogForwardsEverything", "[mysql][guard]") {
    Fixture f(config::GuardAction::log);
    CHECK(f.query("INSERT INTO enroll (user_id) VALUES (1), (1)").kind == Kind::forward);
    CHECK(f.g().counters().logged.load() == 1);
    REQUIRE(f.query("INSERT INTO enroll (user_id) VALUES (1)").kind == Kind::check);
    CHECK(f.answer("1").kind == Kind::forward);
    CHECK(f.g().counters().logged.load() == 2);
    // REPLACE of a key in the key set is checked too, and its duplicate logged.
    REQUIRE(f.query("REPLACE INTO enroll (user_id) VALUES (1)").kind == Kind::check);
    CHECK(f.answer("1").kind == Kind::forward);
    CHECK(f.g().counters().logged.load() == 3);
}

namespace {

bool replaced_by(const MySqlGuard::Step& step, const std::string& sql) {
    return step.kind == Kind::replace && step.sql == sql;
}

std::string dropped_warning(const std::string& key) {
    return guard::mysql_signal_sql(1062, "01000",
                                   "Duplicate entry '" + key + "' for key 'enroll_uniq'");
}

}  // namespace

TEST_CASE("IgnoreDropsRowsRepeatedInTheStatementAndSendsTheRest", "[mysql][guard][ignore]") {
    Fixture f(config::GuardAction::ignore);
    CHECK(replaced_by(f.query("INSERT INTO enroll (user_id) VALUES (5), (6), ('5.2'), (6)"),
                      "INSERT INTO enroll (user_id) VALUES (5), (6)"));
    // Only the kept rows' keys joined the key set; each dropped row is counted.
    CHECK(f.g().keys().size() == 2);
    CHECK(f.g().counters().ignored.load() == 2);
    CHECK(f.g().counters().passed.load() == 1);
    CHECK(f.g().counters().rejected.load() == 0);
    // No duplicate: the client's text goes as it is.
    CHECK(f.query("INSERT INTO enroll (user_id) VALUES (7), (NULL), (NULL)").kind == Kind::forward);
}

TEST_CASE("IgnoreDropsRowsTheServerHasAndKeepsTheOthers", "[mysql][guard][ignore]") {
    Fixture f(config::GuardAction::ignore);
    REQUIRE(f.query("INSERT INTO enroll (user_id) VALUES (1), (2)").kind == Kind::forward);
    auto step = f.query("INSERT INTO enroll VALUES (NULL, 1, 'a'), (NULL, 3, 'b'), (NULL, 2, 'c')");
    REQUIRE(step.kind == Kind::check);
    CHECK(step.sql ==
          "SELECT CONCAT(EXISTS(SELECT 1 FROM `app`.`enroll` WHERE `user_id` = 1), EXISTS(SELECT "
          "1 FROM `app`.`enroll` WHERE `user_id` = 2))");
    // 1 is on the server, 2 was deleted since: only the first row goes.
    CHECK(replaced_by(f.answer("10"), "INSERT INTO enroll VALUES (NULL, 3, 'b'), (NULL, 2, 'c')"));
    CHECK(f.g().counters().ignored.load() == 1);
    CHECK(f.g().keys().size() == 3);
    // A row equal to a dropped one is a duplicate of the server's row too (it was not asked
    // about separately); every row dropped is the server's warning for the first.
    REQUIRE(f.query("INSERT INTO enroll SET user_id = 1").kind == Kind::check);
    CHECK(replaced_by(f.answer("1"), dropped_warning("1")));
    REQUIRE(f.query("INSERT INTO enroll (user_id) VALUES (1), (1)").kind == Kind::check);
    CHECK(replaced_by(f.answer("1"), dropped_warning("1")));
    CHECK(f.g().counters().ignored.load() == 4);
    // A deleted row's key: nothing to drop.
    REQUIRE(f.query("INSERT INTO enroll (user_id) VALUES (1), (1)").kind == Kind::check);
    CHECK(replaced_by(f.answer("0"), "INSERT INTO enroll (user_id) VALUES (1)"));
}

TEST_CASE("InsertIgnoreDropsDuplicatesUnderRejectAndKeepsItsIgnore", "[mysql][guard][ignore]") {
    Fixture f;
    CHECK(replaced_by(f.query("INSERT IGNORE INTO enroll (user_id) VALUES (7), (7) /* c */"),
                      "INSERT IGNORE INTO enroll (user_id) VALUES (7) /* c */"));
    CHECK(f.g().counters().ignored.load() == 1);
    CHECK(f.g().counters().rejected.load() == 0);
    REQUIRE(f.query("INSERT IGNORE enroll (user_id) VALUE (7)").kind == Kind::check);
    CHECK(replaced_by(f.answer("1"), dropped_warning("7")));
    // A plain INSERT under reject is still the server's error.
    CHECK(signals(f.query("INSERT INTO enroll (user_id) VALUES (8), (8)"), "1062",
                  "Duplicate entry '8' for key 'enroll_uniq'"));
    CHECK(f.g().counters().rejected.load() == 1);
    CHECK(f.g().keys().size() == 1);
}

TEST_CASE("ReturningKeepsItsListAndIsRefusedWhenNoRowIsLeft", "[mysql][guard][ignore]") {
    Fixture f(config::GuardAction::ignore);
    CHECK(replaced_by(f.query("INSERT INTO enroll (user_id) VALUES (1), (1) RETURNING id"),
                      "INSERT INTO enroll (user_id) VALUES (1) RETURNING id"));
    REQUIRE(f.query("INSERT INTO enroll (user_id) VALUES (1) RETURNING id").kind == Kind::check);
    CHECK(signals(f.answer("1"), "1235",
                  mysql_unenforced_message("an INSERT … RETURNING whose every row is a duplicate",
                                           "app.enroll", "enroll_uniq")));
    // Refused: nothing dropped, nothing counted as ignored.
    CHECK(f.g().counters().ignored.load() == 1);
}

TEST_CASE("LogChecksAndLogsInsertIgnoreAndChangesNothing", "[mysql][guard][ignore]") {
    Fixture f(config::GuardAction::log);
    CHECK(f.query("INSERT IGNORE INTO enroll (user_id) VALUES (1), (1)").kind == Kind::forward);
    CHECK(f.g().counters().logged.load() == 1);
    CHECK(f.g().counters().ignored.load() == 0);
}

TEST_CASE("UntilTheKeySetIsLoadedWhenUnreadyApplies", "[mysql][guard]") {
    Fixture f(config::GuardAction::reject, false);
    CHECK(signals(f.query("INSERT INTO enroll (user_id) VALUES (1)"), "1235",
                  "uniqguard: writes to table \"app.enroll\" are refused until guard "
                  "\"enroll_uniq\" is ready (its key set is still loading)"));
}

TEST_CASE("SqlModeTheProxyDidNotFollowLeavesNothingUnguarded", "[mysql][guard]") {
    Fixture f;
    CHECK(f.query("SET sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')").kind ==
          Kind::forward);
    CHECK(signals(f.query("INSERT INTO enroll (user_id) VALUES (1)"), "1235",
                  mysql_unenforced_message("an INSERT under an sql_mode the proxy did not follow",
                                           "app.enroll", "enroll_uniq")));
    CHECK(f.guard.on_command("\x1F", f.settings, f.session).kind == Kind::forward);  // reset
    CHECK(f.query("INSERT INTO enroll (user_id) VALUES (1)").kind == Kind::forward);
}

TEST_CASE("UnreadableTextUnderAnotherCharacterSetIsRefused", "[mysql][guard]") {
    Fixture f;
    // Read as the server reads it, an unterminated string is the server's 1064.
    CHECK(f.query("INSERT INTO enroll (user_id) VALUES ('1)").kind == Kind::forward);
    // latin1 reads as the lexer reads it: a statement that cannot be read is the server's 1064.
    CHECK(f.query("SET NAMES latin1").kind == Kind::forward);
    CHECK(f.query("INSERT INTO enroll (user_id) VALUES ('1)").kind == Kind::forward);
    CHECK(f.query("UPDATE enroll SET note = 'x' WHERE id = 1").kind == Kind::forward);
    CHECK(f.query("SET NAMES sjis").kind == Kind::forward);
    // sjis: a character may end in a backslash byte, so even a statement that reads as an
    // UPDATE of the note alone may set the key (`note = '\x95\x5c', user_id = 5 -- '`).
    const std::string why =
        "from a client whose character set the proxy cannot read (big5, sjis, gbk, cp932, "
        "gb18030, or not known)";
    CHECK(signals(f.query("UPDATE enroll SET note = '\x95\x5c', user_id = 5 -- '"), "1235",
                  mysql_unenforced_message("a statement " + why, "app.enroll", "enroll_uniq")));
    CHECK(signals(f.query("INSERT INTO enroll (user_id) VALUES ('1)"), "1235",
                  mysql_unenforced_message("a statement " + why, "app.enroll", "enroll_uniq")));
    CHECK(signals(
        f.guard.on_command("\x16INSERT INTO enroll (user_id) VALUES ('1)", f.settings, f.session),
        "1235",
        mysql_unenforced_message("a prepared statement " + why, "app.enroll", "enroll_uniq")));
    // Statements not naming a guarded table, and SET NAMES back to a readable set, go on.
    CHECK(f.query("SELECT 1").kind == Kind::forward);
    CHECK(f.query("SET NAMES utf8mb4").kind == Kind::forward);
    CHECK(f.query("INSERT INTO enroll (user_id) VALUES (1)").kind == Kind::forward);
}

TEST_CASE("APreparedInsertIsKeyedFromEachExecutesParameters", "[mysql][guard][prepared]") {
    Fixture f;
    const auto command = [&](const std::string& payload) {
        return f.guard.on_command(payload, f.settings, f.session);
    };
    REQUIRE(command("\x16INSERT INTO enroll (user_id, note) VALUES (?, 'a'), (?, ?)").kind ==
            Kind::forward);
    // A prepare of another table is not kept; answers come in order.
    REQUIRE(command("\x16INSERT INTO other (user_id) VALUES (?)").kind == Kind::forward);
    f.guard.on_prepare_answer(util::as_bytes(prepare_ok(7, 3)));
    f.guard.on_prepare_answer(util::as_bytes(prepare_ok(8, 1)));
    CHECK(f.guard.prepared().size() == 1);
    CHECK(command(execute(8, {1})).kind == Kind::forward);
    CHECK(f.g().keys().size() == 0);

    // New keys: forwarded, and they join the key set.
    CHECK(command(execute(7, {1, 2, std::nullopt})).kind == Kind::forward);
    CHECK(f.g().keys().size() == 2);
    // Twice in one execute: the second row's key is the duplicate.
    CHECK(signals(command(execute(7, {3, 3, std::nullopt}, false)), "1062",
                  "Duplicate entry '3' for key 'enroll_uniq'"));
    // A suspected key: the server is asked, in the session, then decides.
    auto step = command(execute(7, {4, 2, std::nullopt}, false));
    REQUIRE(step.kind == Kind::check);
    CHECK(step.sql == "SELECT CONCAT(EXISTS(SELECT 1 FROM `app`.`enroll` WHERE `user_id` = 2))");
    CHECK(signals(f.answer("1"), "1062", "Duplicate entry '2' for key 'enroll_uniq'"));
    REQUIRE(command(execute(7, {4, 2, std::nullopt}, false)).kind == Kind::check);
    CHECK(f.answer("0").kind == Kind::forward);

    // COM_STMT_CLOSE: the id is unknown again (the server answers its executes itself).
    CHECK(command("\x19" + le32(7)).kind == Kind::forward);
    CHECK(f.guard.prepared().size() == 0);
    CHECK(command(execute(7, {2, 2, std::nullopt})).kind == Kind::forward);
}

TEST_CASE("AReplacedExecuteThatBoundTypesHasThemWrittenIntoTheNext", "[mysql][guard][prepared]") {
    Fixture f;
    const auto command = [&](const std::string& payload) {
        return f.guard.on_command(payload, f.settings, f.session);
    };
    REQUIRE(command("\x16INSERT INTO enroll (user_id) VALUES (?)").kind == Kind::forward);
    f.guard.on_prepare_answer(util::as_bytes(prepare_ok(1, 1)));
    REQUIRE(command(execute(1, {5})).kind == Kind::forward);
    // A duplicate in one execute is refused before the server sees it... (two rows, one key).
    REQUIRE(command("\x16INSERT INTO enroll (user_id) VALUES (?), (?)").kind == Kind::forward);
    f.guard.on_prepare_answer(util::as_bytes(prepare_ok(2, 2)));
    REQUIRE(command(execute(2, {6, 6})).kind == Kind::replace);
    // ...so the server lacks its types: the next execute binding none gets them.
    const auto next = execute(2, {6, 7}, false);
    const auto step = command(next);
    REQUIRE(step.kind == Kind::rewrite);
    CHECK(step.sql == execute(2, {6, 7}, true));
    // Once written in, the server has them.
    CHECK(command(execute(2, {8, 9}, false)).kind == Kind::forward);
    // Statement 1 bound its types at a forwarded execute: nothing to write in.
    CHECK(command(execute(1, {10}, false)).kind == Kind::forward);
}

TEST_CASE("KeyValuesSentAsLongDataAreReadWithinBoundsAndResetForgets", "[mysql][guard][prepared]") {
    Fixture f;
    const auto command = [&](const std::string& payload) {
        return f.guard.on_command(payload, f.settings, f.session);
    };
    REQUIRE(command("\x16INSERT INTO enroll (note, user_id) VALUES (?, ?)").kind == Kind::forward);
    f.guard.on_prepare_answer(util::as_bytes(prepare_ok(3, 2)));
    // The key's value comes as long data in two chunks (the execute carries only the note's
    // value), bound as VAR_STRING: '12345678' into an integer column.
    const auto long_data = [&](const std::string& chunk) {
        return command("\x18" + le32(3) + std::string("\x01\x00", 2) + chunk).kind;
    };
    CHECK(long_data("1234") == Kind::forward);
    CHECK(long_data("5678") == Kind::forward);
    const std::string e = "\x17" + le32(3) + std::string("\x00\x01\x00\x00\x00", 5) +
                          std::string("\x00\x01\xfd\x00\xfd\x00", 6) + "\x01x";
    CHECK(command(e).kind == Kind::forward);
    CHECK(f.g().keys().size() == 1);
    // The same key again, as long data and as an inline value: a duplicate of the first.
    CHECK(long_data("12345678") == Kind::forward);
    REQUIRE(command(e).kind == Kind::check);  // in the key set: the server is asked
    auto step = f.answer("1");
    CHECK(signals(step, "1062", "Duplicate entry '12345678' for key 'enroll_uniq'"));
    // The server never sees this execute: its long data is reset first, as the execute would
    // have spent it.
    CHECK(step.before == std::vector<std::string>{"\x1a" + le32(3)});
    // Past the 64 KiB kept of a parameter: refused, and reset alike.
    CHECK(long_data(std::string(40000, '1')) == Kind::forward);
    CHECK(long_data(std::string(30000, '1')) == Kind::forward);
    const auto refused = command(e);
    CHECK(refused.before == std::vector<std::string>{"\x1a" + le32(3)});
    CHECK(signals(refused, "1235",
                  mysql_unenforced_message("a prepared INSERT's key value sent by "
                                           "COM_STMT_SEND_LONG_DATA past the 64 KiB the proxy "
                                           "keeps",
                                           "app.enroll", "enroll_uniq")));
    // Long data bound as LONGLONG: MariaDB fails such an execute; the proxy does not key it.
    CHECK(long_data("1") == Kind::forward);
    const std::string numeric = "\x17" + le32(3) + std::string("\x00\x01\x00\x00\x00", 5) +
                                std::string("\x00\x01\xfd\x00\x08\x00", 6) + "\x01x";
    CHECK(command(numeric).kind == Kind::replace);
    CHECK(command("\x1a" + le32(3)).kind == Kind::forward);  // COM_STMT_RESET forgets it
    // Long data for a prepare not answered yet (sent in the same write): decided once the
    // server has given the statement its id; MariaDB's -1 names the last prepared.
    REQUIRE(command("\x16INSERT INTO enroll (user_id) VALUES (?)").kind == Kind::forward);
    const std::string to_4 = "\x18" + le32(4) + std::string("\x00\x00", 2) + "77";
    CHECK(command(to_4).kind == Kind::defer);
    CHECK(command("\x18" + le32(0xFFFFFFFFu) + std::string("\x00\x00", 2) + "7").kind ==
          Kind::defer);
    f.guard.on_prepare_answer(util::as_bytes(prepare_ok(4, 1)));
    CHECK(command(to_4).kind == Kind::forward);
    CHECK(command("\x18" + le32(0xFFFFFFFFu) + std::string("\x00\x00", 2) + "7").kind ==
          Kind::forward);
    // 777 as long data (the execute carries no value for it).
    const std::string e4 = "\x17" + le32(4) + std::string("\x00\x01\x00\x00\x00", 5) +
                           std::string("\x00\x01\xfd\x00", 4);
    CHECK(command(e4).kind == Kind::forward);
    CHECK(f.g().keys().size() == 2);
    CHECK(command("\x18" + le32(4) + std::string("\x00\x00", 2) + "777").kind == Kind::forward);
    CHECK(command(e4).kind == Kind::check);  // 777 again: suspected
    CHECK(signals(f.answer("1"), "1062", "Duplicate entry '777' for key 'enroll_uniq'"));
    // A prepare that failed on the server is not kept; COM_RESET_CONNECTION forgets them all.
    REQUIRE(command("\x16INSERT INTO enroll (user_id) VALUES (?)").kind == Kind::forward);
    f.guard.on_prepare_answer(util::as_bytes(std::string("\xff\x28\x04#42000bad", 12)));
    CHECK(f.guard.prepared().size() == 2);  // statements 3 and 4
    // Long data for -1 after that failed prepare: which statement takes it is not known, so
    // every guarded execute is refused until the statements are forgotten.
    CHECK(command("\x18" + le32(0xFFFFFFFFu) + std::string("\x00\x00", 2) + "1").kind ==
          Kind::forward);
    CHECK(signals(command(e4), "1235",
                  mysql_unenforced_message("an execute after COM_STMT_SEND_LONG_DATA to "
                                           "statement id -1 that followed a failed prepare",
                                           "app.enroll", "enroll_uniq")));
    CHECK(command("\x1f").kind == Kind::forward);
    CHECK(f.guard.prepared().size() == 0);
}

TEST_CASE("UnderLogAForwardedUnfollowedPrepareKeepsItsPlace", "[mysql][guard][prepared]") {
    Fixture f(config::GuardAction::log);
    const auto command = [&](const std::string& payload) {
        return f.guard.on_command(payload, f.settings, f.session);
    };
    // Not enforced, forwarded with a warning: its answer comes first.
    REQUIRE(command("\x16REPLACE INTO enroll (user_id) SELECT ?").kind == Kind::forward);
    REQUIRE(command("\x16INSERT INTO enroll (user_id) VALUES (?)").kind == Kind::forward);
    f.guard.on_prepare_answer(util::as_bytes(prepare_ok(1, 1)));
    f.guard.on_prepare_answer(util::as_bytes(prepare_ok(2, 1)));
    CHECK_FALSE(f.guard.prepared().find(1));
    CHECK(f.guard.prepared().find(2));
    // MariaDB's statement id -1: the last prepared statement.
    REQUIRE(command(execute(0xFFFFFFFFu, {1})).kind == Kind::forward);
    CHECK(f.g().keys().size() == 1);
}

TEST_CASE("APreparedExecuteIsDroppedWholeOrRefused", "[mysql][guard][ignore][prepared]") {
    Fixture f(config::GuardAction::ignore);
    const auto command = [&](const std::string& payload) {
        return f.guard.on_command(payload, f.settings, f.session);
    };
    REQUIRE(command("\x16INSERT INTO enroll (user_id) VALUES (?)").kind == Kind::forward);
    REQUIRE(command("\x16INSERT IGNORE INTO enroll (user_id) VALUES (?), (?)").kind ==
            Kind::forward);
    f.guard.on_prepare_answer(util::as_bytes(prepare_ok(1, 1)));
    f.guard.on_prepare_answer(util::as_bytes(prepare_ok(2, 2)));
    CHECK(f.guard.prepared().size() == 2);
    REQUIRE(command(execute(1, {1})).kind == Kind::forward);
    // The one row is a duplicate: the warning in the execute's place (it bound types the server
    // then lacks: the next execute gets them written in).
    REQUIRE(command(execute(1, {1})).kind == Kind::check);
    CHECK(replaced_by(f.answer("1"), dropped_warning("1")));
    CHECK(command(execute(1, {2}, false)).kind == Kind::rewrite);
    // Some rows of a multi-row execute only: refused, nothing dropped.
    CHECK(signals(command(execute(2, {6, 6})), "1235",
                  mysql_unenforced_message("an execute of a prepared multi-row INSERT with some "
                                           "rows duplicates and some not",
                                           "app.enroll", "enroll_uniq")));
    CHECK(f.g().counters().ignored.load() == 1);
    // Every row: dropped whole.
    REQUIRE(command(execute(2, {1, 2})).kind == Kind::check);
    CHECK(replaced_by(f.answer("11"), dropped_warning("1")));
    CHECK(f.g().counters().ignored.load() == 3);
}

namespace {

// Two guards on one table, `first` on user_id and `second` on course (both INT), in that order.
struct TwoGuards {
    TwoGuards(config::GuardAction first, config::GuardAction second)
        : registry(std::make_shared<guard::GuardRegistry>(std::vector<config::Guard>{
              guard_config("first", "user_id", first), guard_config("second", "course", second)})),
          settings(45, sql::MySqlDialect{}, ""),
          guard(registry, nullptr, "app") {
        session.database = "app";
        guard::MySqlKeyColumnType id;
        id.kind = guard::MySqlKeyColumnType::Kind::integer;
        id.integer = {4, false};
        for (std::size_t i = 0; i < 2; ++i) {
            const std::string column = i == 0 ? "user_id" : "course";
            auto table = std::make_shared<const guard::MySqlGuardTable>(
                guard::MySqlGuardTable{.schema = "app",
                                       .name = "enroll",
                                       .columns = {"id", "user_id", "course"},
                                       .keys = guard::MySqlKeyColumns({{column, id, nullptr}})});
            g(i).set_ready(guard::GuardTable{.schema = "app", .name = "enroll"}, table);
        }
    }
    static config::Guard guard_config(std::string name, std::string column,
                                      config::GuardAction action) {
        config::Guard c;
        c.table = "app.enroll";
        c.columns = {std::move(column)};
        c.name = std::move(name);
        c.action = action;
        return c;
    }
    guard::GuardState& g(std::size_t i) { return *registry->guards()[i]; }
    MySqlGuard::Step query(const std::string& sql) {
        return guard.on_command("\x03" + sql, settings, session);
    }

    std::shared_ptr<guard::GuardRegistry> registry;
    MySqlSessionSettings settings;
    MySqlGuard guard;
    MySqlGuardSession session;
};

}  // namespace

TEST_CASE("ADroppedRowIsNoDuplicateOfALaterRow", "[mysql][guard][ignore]") {
    TwoGuards f(config::GuardAction::ignore, config::GuardAction::ignore);
    // Row 2 repeats row 1's user: dropped by `first`. Row 3 repeats row 2's course, but row 2
    // never reaches the table: row 3 goes, as on a server with both unique keys.
    CHECK(replaced_by(f.query("INSERT INTO enroll (user_id, course) VALUES (1, 10), (1, 20), "
                              "(3, 20), (4, 10)"),
                      "INSERT INTO enroll (user_id, course) VALUES (1, 10), (3, 20)"));
    CHECK(f.g(0).counters().ignored.load() == 1);
    CHECK(f.g(1).counters().ignored.load() == 1);  // (4, 10): `second`'s
    CHECK(f.g(0).keys().size() == 2);
    CHECK(f.g(1).keys().size() == 2);
}

TEST_CASE("UnderMixedActionsTheFirstGuardARowBreaksDecides", "[mysql][guard][ignore]") {
    TwoGuards f(config::GuardAction::ignore, config::GuardAction::reject);
    // Row 2 breaks `first` (ignore): dropped. Row 3 breaks `second` (reject): the statement
    // fails there, as the server reports the first row and key it cannot insert.
    CHECK(signals(f.query("INSERT INTO enroll (user_id, course) VALUES (1, 10), (1, 11), (2, 10)"),
                  "1062", "Duplicate entry '10' for key 'second'"));
    CHECK(f.g(0).counters().ignored.load() == 0);  // nothing was dropped: the statement failed
    CHECK(f.g(1).counters().rejected.load() == 1);
    // The client's INSERT IGNORE: every guard drops, reject's too.
    CHECK(replaced_by(
        f.query("INSERT IGNORE INTO enroll (user_id, course) VALUES (1, 10), (1, 11), (2, 10)"),
        "INSERT IGNORE INTO enroll (user_id, course) VALUES (1, 10)"));
    CHECK(f.g(0).counters().ignored.load() == 1);
    CHECK(f.g(1).counters().ignored.load() == 1);
}
