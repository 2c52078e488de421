// What the MySQL guard does with each command (proxy/mysql_guard.hpp), on a guard over an
// integer key whose key set is filled by hand; the server's side of the same cases is in
// tests/integration/test_mysql_guard.py.
#include "proxy/mysql_guard.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "protocol/mysql/packet_writer.hpp"

using namespace uniqguard;
using namespace uniqguard::proxy;
using Kind = MySqlGuard::Step::Kind;

namespace {

struct Fixture {
    explicit Fixture(config::GuardAction action = config::GuardAction::reject, bool ready = true)
        : registry(std::make_shared<guard::GuardRegistry>(
              std::vector<config::Guard>{guard_config(action)})),
          settings(45, sql::MySqlDialect{}, ""),
          guard(registry, nullptr, "app") {
        session.database = "app";
        if (!ready) return;
        guard::MySqlKeyColumnType id;
        id.kind = guard::MySqlKeyColumnType::Kind::integer;
        id.integer = {4, false};
        auto table = std::make_shared<const guard::MySqlGuardTable>(
            guard::MySqlGuardTable{.schema = "app",
                                   .name = "enroll",
                                   .columns = {"id", "user_id", "note"},
                                   .keys = guard::MySqlKeyColumns({{"user_id", id, nullptr}})});
        g().set_ready(guard::GuardTable{.schema = "app", .name = "enroll"}, table);
    }
    static config::Guard guard_config(config::GuardAction action) {
        config::Guard c;
        c.table = "app.enroll";
        c.columns = {"user_id"};
        c.name = "enroll_uniq";
        c.action = action;
        return c;
    }
    guard::GuardState& g() { return *registry->guards()[0]; }
    MySqlGuard::Step query(const std::string& sql) {
        return guard.on_command("\x03" + sql, settings, session);
    }
    // The check's answer: one row, one column.
    MySqlGuard::Step answer(const std::string& value) {
        std::string bytes;
        protocol::mysql::append_packet(bytes, 1, std::string("\x01"));
        protocol::mysql::append_packet(bytes, 2, std::string(24, '\x01'));
        protocol::mysql::append_packet(bytes, 3, std::string("\x01") + value);
        protocol::mysql::append_packet(bytes, 4, std::string("\xFE\x00\x00\x02\x00\x00\x00", 7));
        protocol::mysql::ValueReplyReader reply(true);
        reply.feed(util::as_bytes(bytes));
        REQUIRE(reply.status() == protocol::mysql::ValueReplyReader::Status::done);
        return guard.on_check_reply(reply);
    }

    std::shared_ptr<guard::GuardRegistry> registry;
    MySqlSessionSettings settings;
    MySqlGuard guard;
    MySqlGuardSession session;
};

bool signals(const MySqlGuard::Step& step, const std::string& code, const std::string& message) {
    return step.kind == Kind::replace &&
           step.sql == guard::mysql_signal_sql(static_cast<std::uint16_t>(std::stoi(code)),
                                               code == "1062" ? "23000" : "42000", message);
}

}  // namespace

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

TEST_CASE("TheSameKeyTwiceInOneStatementIsADuplicateOfTheSecondRow", "[mysql][guard]") {
    Fixture f;
    CHECK(signals(f.query("INSERT INTO enroll (user_id) VALUES (5), (6), ('5.2')"), "1062",
                  "Duplicate entry '5' for key 'enroll_uniq'"));
    CHECK(f.g().keys().size() == 0);  // nothing ran, nothing learnt
    CHECK(f.query("INSERT INTO enroll (user_id) VALUES (NULL), (NULL)").kind == Kind::forward);
}

TEST_CASE("FormsNotEnforcedYetAreRefusedNamingTheGuard", "[mysql][guard]") {
    Fixture f;
    const auto refused = [&](const std::string& sql, const std::string& what) {
        return signals(f.query(sql), "1235",
                       mysql_unenforced_message(what, "app.enroll", "enroll_uniq"));
    };
    CHECK(refused("INSERT IGNORE INTO enroll (user_id) VALUES (1)", "INSERT IGNORE"));
    CHECK(refused("REPLACE INTO enroll (user_id) VALUES (1)", "REPLACE"));
    CHECK(refused("INSERT INTO enroll (user_id) VALUES (1) ON DUPLICATE KEY UPDATE note = 'x'",
                  "INSERT … ON DUPLICATE KEY UPDATE"));
    CHECK(refused("INSERT INTO enroll (user_id) SELECT 1", "INSERT … SELECT"));
    CHECK(refused("UPDATE enroll SET user_id = 2 WHERE id = 1", "UPDATE of a key column"));
    CHECK(refused("INSERT INTO enroll (user_id) VALUES (1); SELECT 1",
                  "a write in a string of several statements"));
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
    const auto prepare =
        f.guard.on_command("\x16INSERT INTO enroll (user_id) VALUES (?)", f.settings, f.session);
    CHECK(signals(prepare, "1235",
                  mysql_unenforced_message("a prepared statement (COM_STMT_PREPARE) that writes",
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
    CHECK(f.query("REPLACE INTO enroll (user_id) VALUES (1)").kind == Kind::forward);
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
    CHECK(f.query("SET NAMES sjis").kind == Kind::forward);
    CHECK(signals(f.query("INSERT INTO enroll (user_id) VALUES ('1)"), "1235",
                  mysql_unenforced_message("a statement the proxy cannot read", "app.enroll",
                                           "enroll_uniq")));
}
