// REPLACE and INSERT … ON DUPLICATE KEY UPDATE on a guarded table (proxy/mysql_guard.hpp): rows
// whose keys are new are forwarded as the plain INSERT they are then; a row whose key exists, or
// repeats inside the statement, is refused with ERR 1235 naming the key. The server's side is in
// tests/integration/test_mysql_guard_upsert.py.
#include <catch2/catch.hpp>
#include <string>

#include "mysql_guard_fixture.hpp"
#include "proxy/mysql_guard.hpp"

using namespace uniqguard;
using namespace uniqguard::proxy;
using Kind = MySqlGuard::Step::Kind;
using Fixture = uniqguard::test::MySqlGuardFixture;
using uniqguard::test::signals;

namespace {

std::string refusal(const std::string& what, const std::string& key, bool repeated = false) {
    return mysql_unenforced_message(
        what + " of a key that " +
            (repeated ? "an earlier row of the statement writes" : "already exists") +
            " (Duplicate entry '" + key + "' for key 'enroll_uniq')",
        "app.enroll", "enroll_uniq");
}

const std::string odku = "INSERT … ON DUPLICATE KEY UPDATE";

}  // namespace

TEST_CASE("UpsertsOfNewKeysAreForwardedAndTheirKeysJoinTheKeySet", "[mysql][guard][upsert]") {
    Fixture f;
    CHECK(f.query("REPLACE INTO enroll (user_id) VALUES (1), (2)").kind == Kind::forward);
    CHECK(f.query("INSERT INTO enroll (user_id, note) VALUES (3, 'a') AS n ON DUPLICATE KEY "
                  "UPDATE note = n.note")
              .kind == Kind::forward);
    CHECK(f.query("REPLACE enroll SET user_id = 4").kind == Kind::forward);
    CHECK(f.g().keys().size() == 4);
    CHECK(f.g().counters().passed.load() == 3);
    // NULL keys never conflict.
    CHECK(f.query("REPLACE INTO enroll (user_id) VALUES (NULL), (NULL)").kind == Kind::forward);
    CHECK(f.g().counters().refused.load() == 0);
}

TEST_CASE("AnUpsertOfAKeyTheServerHasIsRefusedNamingTheKey", "[mysql][guard][upsert]") {
    Fixture f;
    REQUIRE(f.query("INSERT INTO enroll (user_id) VALUES (1), (2)").kind == Kind::forward);
    auto step = f.query("REPLACE INTO enroll (user_id) VALUES (5), (2)");
    REQUIRE(step.kind == Kind::check);
    CHECK(step.sql == "SELECT CONCAT(EXISTS(SELECT 1 FROM `app`.`enroll` WHERE `user_id` = 2))");
    CHECK(signals(f.answer("1"), "1235", refusal("REPLACE", "2")));
    REQUIRE(f.query("INSERT INTO enroll (user_id) VALUES (1) ON DUPLICATE KEY UPDATE note = 'x'")
                .kind == Kind::check);
    CHECK(signals(f.answer("1"), "1235", refusal(odku, "1")));
    // Refused: not a duplicate error, and nothing learnt (5 was not written).
    CHECK(f.g().counters().refused.load() == 2);
    CHECK(f.g().counters().rejected.load() == 0);
    CHECK(f.g().keys().size() == 2);
    // The row was deleted since: the server says so, the upsert is a plain insert.
    REQUIRE(f.query("REPLACE INTO enroll (user_id) VALUES (2)").kind == Kind::check);
    CHECK(f.answer("0").kind == Kind::forward);
    CHECK(f.g().counters().passed.load() == 2);
}

TEST_CASE("AnUpsertRepeatingAKeyInsideTheStatementIsRefused", "[mysql][guard][upsert]") {
    Fixture f;
    CHECK(signals(f.query("REPLACE INTO enroll (user_id) VALUES (7), (8), ('7')"), "1235",
                  refusal("REPLACE", "7", true)));
    CHECK(signals(f.query("INSERT INTO enroll (user_id) VALUES (9), (9) ON DUPLICATE KEY "
                          "UPDATE note = VALUES(note)"),
                  "1235", refusal(odku, "9", true)));
    CHECK(f.g().keys().size() == 0);
}

TEST_CASE("IgnoreAndInsertIgnoreRefuseAnUpsertOfAnExistingKeyToo", "[mysql][guard][upsert]") {
    Fixture f(config::GuardAction::ignore);
    CHECK(signals(f.query("REPLACE INTO enroll (user_id) VALUES (3), (3)"), "1235",
                  refusal("REPLACE", "3", true)));
    CHECK(f.g().counters().ignored.load() == 0);
    Fixture r;
    CHECK(signals(r.query("INSERT IGNORE INTO enroll (user_id) VALUES (4), (4) ON DUPLICATE KEY "
                          "UPDATE note = 'x'"),
                  "1235", refusal(odku, "4", true)));
}

TEST_CASE("LogForwardsUpsertsAndLogsTheirDuplicates", "[mysql][guard][upsert]") {
    Fixture f(config::GuardAction::log);
    CHECK(f.query("REPLACE INTO enroll (user_id) VALUES (1), (1)").kind == Kind::forward);
    CHECK(f.g().counters().logged.load() == 1);
    REQUIRE(f.query("INSERT INTO enroll (user_id) VALUES (1) ON DUPLICATE KEY UPDATE note = 'y'")
                .kind == Kind::check);
    CHECK(f.answer("1").kind == Kind::forward);
    CHECK(f.g().counters().logged.load() == 2);
    CHECK(f.g().counters().refused.load() == 0);
}

TEST_CASE("UpsertFormsStillRefused", "[mysql][guard][upsert]") {
    Fixture f;
    const auto refused = [&](const std::string& sql, const std::string& what) {
        return signals(f.query(sql), "1235",
                       mysql_unenforced_message(what, "app.enroll", "enroll_uniq"));
    };
    CHECK(
        refused("INSERT INTO enroll (user_id) VALUES (1) ON DUPLICATE KEY UPDATE "
                "enroll.user_id = VALUES(user_id)",
                "INSERT … ON DUPLICATE KEY UPDATE that sets a key column"));
    CHECK(refused("REPLACE INTO enroll (user_id) VALUES (1 + 1)",
                  "an INSERT with a value of key column `user_id` the proxy cannot read (an "
                  "expression, DEFAULT, a character set introducer, a value the server may "
                  "convert)"));
    CHECK(refused("REPLACE INTO enroll (user_id) VALUES (1); SELECT 1",
                  "a write in a string of several statements (REPLACE or ON DUPLICATE KEY "
                  "UPDATE)"));
    CHECK(signals(
        f.guard.on_command("\x16REPLACE INTO enroll (user_id) SELECT ?", f.settings, f.session),
        "1235",
        mysql_unenforced_message("a prepared REPLACE … SELECT", "app.enroll", "enroll_uniq")));
    CHECK(signals(f.guard.on_command("\x16INSERT INTO enroll (user_id) VALUES (?) ON DUPLICATE "
                                     "KEY UPDATE user_id = 2",
                                     f.settings, f.session),
                  "1235",
                  mysql_unenforced_message(
                      "a prepared INSERT … ON DUPLICATE KEY UPDATE that sets a key column",
                      "app.enroll", "enroll_uniq")));
    CHECK(f.g().keys().size() == 0);
}

namespace {

// The fixture's table with an integer primary key `id`, as the key set loader reads it.
void with_primary_key(Fixture& f) {
    guard::MySqlKeyColumnType id;
    id.kind = guard::MySqlKeyColumnType::Kind::integer;
    id.integer = {4, false};
    auto table = std::make_shared<const guard::MySqlGuardTable>(
        guard::MySqlGuardTable{.schema = "app",
                               .name = "enroll",
                               .columns = {"id", "user_id", "note"},
                               .keys = guard::MySqlKeyColumns({{"user_id", id, nullptr}}),
                               .integer_primary_key = "id"});
    f.g().set_ready(guard::GuardTable{.schema = "app", .name = "enroll"}, table);
}

const std::string probe_1 =
    "SELECT CONCAT(COUNT(*), ':', IFNULL(MIN(`id`), 0)) FROM `app`.`enroll` WHERE `user_id` = 1";

}  // namespace

TEST_CASE("AnUpdateOfOneExistingRowNamesItByItsPrimaryKey", "[mysql][guard][upsert]") {
    Fixture f(config::GuardAction::reject, false);
    with_primary_key(f);
    REQUIRE(f.query("INSERT INTO enroll (user_id) VALUES (1)").kind == Kind::forward);
    const std::string odku_1 =
        "INSERT INTO enroll (user_id, note) VALUES (1, 'x') ON DUPLICATE KEY UPDATE note = "
        "VALUES(note)";
    auto step = f.query(odku_1);
    REQUIRE(step.kind == Kind::check);
    CHECK(step.sql == probe_1);
    auto sent = f.answer("1:42");
    CHECK(sent.kind == Kind::replace);
    CHECK(sent.sql ==
          "INSERT INTO enroll (user_id, note, `id`) VALUES (1, 'x', 42) ON DUPLICATE KEY UPDATE "
          "note = VALUES(note)");
    CHECK(f.g().counters().passed.load() == 2);
    // Deleted since: a plain insert, sent as written.
    REQUIRE(f.query(odku_1).kind == Kind::check);
    CHECK(f.answer("0:0").kind == Kind::forward);
    // Legacy duplicates: two rows to choose from, a unique key would have one.
    REQUIRE(f.query(odku_1).kind == Kind::check);
    CHECK(signals(f.answer("2:3"), "1235",
                  "uniqguard: INSERT … ON DUPLICATE KEY UPDATE on table \"app.enroll\" is "
                  "refused by guard \"enroll_uniq\": 2 rows already have its key (Duplicate "
                  "entry '1' for key 'enroll_uniq'); a unique key would allow one"));
    CHECK(f.g().counters().refused.load() == 1);
    // An answer of another shape: the keys cannot be known.
    REQUIRE(f.query(odku_1).kind == Kind::check);
    CHECK(signals(f.answer("1:x"), "1235",
                  "uniqguard: guard \"enroll_uniq\" could not check the statement's keys on the "
                  "server (an unexpected reply); the statement was refused"));
}

TEST_CASE("AnUpdateTheProxyCannotNameByItsPrimaryKeyIsRefused", "[mysql][guard][upsert]") {
    Fixture f(config::GuardAction::reject, false);
    with_primary_key(f);
    REQUIRE(f.query("INSERT INTO enroll (user_id) VALUES (1)").kind == Kind::forward);
    // The clause reads the primary key.
    REQUIRE(
        f.query("INSERT INTO enroll (user_id) VALUES (1) ON DUPLICATE KEY UPDATE note = id").kind ==
        Kind::check);
    CHECK(signals(f.answer("1:5"), "1235", refusal(odku, "1")));
    // No column list to add the primary key to.
    REQUIRE(f.query("INSERT INTO enroll VALUES (NULL, 1, 'x') ON DUPLICATE KEY UPDATE note = 'y'")
                .kind == Kind::check);
    CHECK(signals(f.answer("1:5"), "1235", refusal(odku, "1")));
    // The client gives the primary key itself: the plain check, and a refusal.
    auto step = f.query(
        "INSERT INTO enroll (id, user_id) VALUES (9, 1) ON DUPLICATE KEY UPDATE note = 'y'");
    REQUIRE(step.kind == Kind::check);
    CHECK(step.sql == "SELECT CONCAT(EXISTS(SELECT 1 FROM `app`.`enroll` WHERE `user_id` = 1))");
    CHECK(signals(f.answer("1"), "1235", refusal(odku, "1")));
    // A row repeating an earlier row's key (the earlier one new): refused.
    REQUIRE(f.query("INSERT INTO enroll (user_id) VALUES (1), (5), (5) ON DUPLICATE KEY UPDATE "
                    "note = 'y'")
                .kind == Kind::check);
    CHECK(signals(f.answer("1:3"), "1235",
                  "uniqguard: INSERT … ON DUPLICATE KEY UPDATE of a key that an earlier row of "
                  "the statement writes (Duplicate entry '5' for key 'enroll_uniq') on table "
                  "\"app.enroll\" is not enforced by guard \"enroll_uniq\" yet; the statement "
                  "was refused"));
    // A REPLACE without a column list: refused too.
    REQUIRE(f.query("REPLACE INTO enroll VALUES (NULL, 1, 'x')").kind == Kind::check);
    CHECK(signals(f.answer("1:5"), "1235", refusal("REPLACE", "1")));
    CHECK(f.g().counters().refused.load() == 5);
}

TEST_CASE("AReplaceOfAnExistingKeyNamesItsRowByPrimaryKey", "[mysql][guard][upsert]") {
    Fixture f(config::GuardAction::reject, false);
    with_primary_key(f);
    REQUIRE(f.query("INSERT INTO enroll (user_id) VALUES (1)").kind == Kind::forward);
    // The server's primary key conflict deletes row 5 and inserts the new row under its id.
    auto step = f.query("REPLACE INTO enroll (user_id, note) VALUES (1, 'r'), (2, 'n')");
    REQUIRE(step.kind == Kind::check);
    // A locking read: the row named by its id still holds the key when the REPLACE runs.
    CHECK(step.sql == probe_1 + " FOR UPDATE");
    step = f.answer("1:5");
    CHECK(step.kind == Kind::replace);
    CHECK(step.sql ==
          "REPLACE INTO enroll (user_id, note, `id`) VALUES (1, 'r', 5), (2, 'n', NULL)");
    CHECK(f.g().counters().passed.load() == 2);
    CHECK(f.g().counters().refused.load() == 0);
    // An ON DUPLICATE KEY UPDATE's stays a plain read.
    step = f.query(
        "INSERT INTO enroll (user_id, note) VALUES (1, 'u') ON DUPLICATE KEY UPDATE note = 'u'");
    CHECK(step.sql == probe_1);
}

TEST_CASE("SeveralRowsNameTheirExistingRowsByPrimaryKey", "[mysql][guard][upsert]") {
    Fixture f(config::GuardAction::reject, false);
    with_primary_key(f);
    REQUIRE(f.query("INSERT INTO enroll (user_id) VALUES (1), (3)").kind == Kind::forward);
    const std::string odku =
        "INSERT INTO enroll (user_id, note) VALUES (1, 'a'), (2, 'b'), (3, 'c') ON DUPLICATE KEY "
        "UPDATE note = VALUES(note)";
    auto step = f.query(odku);
    REQUIRE(step.kind == Kind::check);
    // Keys 1 and 3 are in the key set (2 is not: new, not asked).
    CHECK(step.sql == "SELECT CONCAT_WS(',', (" + probe_1 +
                          "), (SELECT CONCAT(COUNT(*), ':', IFNULL(MIN(`id`), 0)) FROM "
                          "`app`.`enroll` WHERE `user_id` = 3))");
    auto sent = f.answer("1:42,1:7");
    CHECK(sent.kind == Kind::replace);
    CHECK(sent.sql ==
          "INSERT INTO enroll (user_id, note, `id`) VALUES (1, 'a', 42), (2, 'b', NULL), (3, "
          "'c', 7) ON DUPLICATE KEY UPDATE note = VALUES(note)");
    // Every key is in the key set now (2 too: asked, though its row may never have been
    // written). The first and second deleted since: their rows are inserted, NULL their ids.
    REQUIRE(f.query(odku).kind == Kind::check);
    CHECK(f.answer("0:0,0:0,1:7").sql ==
          "INSERT INTO enroll (user_id, note, `id`) VALUES (1, 'a', NULL), (2, 'b', NULL), "
          "(3, 'c', 7) ON DUPLICATE KEY UPDATE note = VALUES(note)");
    // Legacy duplicates of the second key: refused naming it.
    REQUIRE(f.query(odku).kind == Kind::check);
    CHECK(signals(f.answer("1:42,0:0,2:7"), "1235",
                  "uniqguard: INSERT … ON DUPLICATE KEY UPDATE on table \"app.enroll\" is "
                  "refused by guard \"enroll_uniq\": 2 rows already have its key (Duplicate "
                  "entry '3' for key 'enroll_uniq'); a unique key would allow one"));
    // Fewer answers than keys asked: the keys cannot be known.
    REQUIRE(f.query(odku).kind == Kind::check);
    CHECK(signals(f.answer("1:42,1:7"), "1235",
                  "uniqguard: guard \"enroll_uniq\" could not check the statement's keys on the "
                  "server (an unexpected reply); the statement was refused"));
}

TEST_CASE("IgnoreUpdatesTheExistingRowToo", "[mysql][guard][upsert]") {
    Fixture f(config::GuardAction::ignore, false);
    with_primary_key(f);
    REQUIRE(f.query("INSERT INTO enroll (user_id) VALUES (1)").kind == Kind::forward);
    REQUIRE(
        f.query("INSERT INTO enroll (user_id) VALUE (1) ON DUPLICATE KEY UPDATE note = 'z'").kind ==
        Kind::check);
    const auto sent = f.answer("1:7");
    CHECK(sent.kind == Kind::replace);
    CHECK(sent.sql ==
          "INSERT INTO enroll (user_id, `id`) VALUE (1, 7) ON DUPLICATE KEY UPDATE note = 'z'");
    CHECK(f.g().counters().ignored.load() == 0);
}
