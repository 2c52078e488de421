// Keys claimed by a MySQL session's transaction (proxy/mysql_guard.hpp): a second session's
// write of such a key waits until the replies say the first's transaction is over; how a wait
// ends; and executes decided only once the prepare they may name is answered. The server's side
// is in tests/integration/test_mysql_guard_waits.py.
#include <catch2/catch.hpp>
#include <memory>
#include <optional>
#include <vector>

#include "mysql_guard_fixture.hpp"
#include "proxy/mysql_savepoint_command.hpp"
#include "proxy/mysql_wait_registry.hpp"

using namespace uniqguard;
using namespace uniqguard::proxy;
using Kind = MySqlGuard::Step::Kind;
using uniqguard::test::execute;
using uniqguard::test::MySqlGuardFixture;
using uniqguard::test::prepare_ok;
using uniqguard::test::signals;

namespace {

constexpr std::uint16_t autocommit = 0x0002;
constexpr std::uint16_t in_transaction = 0x0001;

// The first session's INSERT of `key` went out.
void sent(MySqlGuardFixture& f, int key) {
    REQUIRE(f.query("INSERT INTO enroll (user_id) VALUES (" + std::to_string(key) + ")").kind ==
            Kind::forward);
    f.guard.on_command_sent();
}

}  // namespace

TEST_CASE("ASecondSessionWaitsUntilTheFirstsTransactionEnds", "[mysql][guard][claims]") {
    MySqlGuardFixture a;
    MySqlGuardFixture b(a.registry);
    sent(a, 1);
    CHECK(a.g().claims().size() == 1);
    // Autocommit off: the INSERT's OK says a transaction is open.
    a.guard.on_reply(false, 0, in_transaction, true);
    auto step = b.query("INSERT INTO enroll (user_id) VALUES (2), (1)");
    CHECK(step.kind == Kind::wait);
    CHECK(b.guard.waiting_for() == &a.g());
    CHECK(b.guard.session_claims().held() == 0);  // key 2 is not held while it waits
    // An error inside the transaction leaves it open (InnoDB rolls back the statement only).
    a.query("SELECT 1");
    a.guard.on_command_sent();
    a.guard.on_reply(true, 1048, in_transaction, true);
    CHECK(b.query("INSERT INTO enroll (user_id) VALUES (1)").kind == Kind::wait);
    // COMMIT: its OK has no transaction open; the key is free, and now in the key set.
    a.query("COMMIT");
    a.guard.on_command_sent();
    a.guard.on_reply(false, 0, autocommit, true);
    CHECK(a.g().claims().size() == 0);
    REQUIRE(b.query("INSERT INTO enroll (user_id) VALUES (2), (1)").kind == Kind::check);
    CHECK(b.g().claims().size() == 2);  // claimed while the server is asked
    CHECK(b.answer("1").kind == Kind::replace);
    CHECK(b.g().claims().size() == 0);  // rejected: the statement writes none of its keys
}

TEST_CASE("ClaimsEndWithTheTransactionAsTheRepliesReportIt", "[mysql][guard][claims]") {
    MySqlGuardFixture a;
    MySqlGuardFixture b(a.registry);
    SECTION("an error in autocommit mode: the statement was its own transaction") {
        sent(a, 1);
        a.guard.on_reply(true, 1048, autocommit, true);
    }
    SECTION("a deadlock's victim: InnoDB rolled the whole transaction back") {
        sent(a, 1);
        a.guard.on_reply(true, 1213, in_transaction, true);
    }
    SECTION("the session is gone") {
        std::optional<MySqlGuardFixture> c(std::in_place, a.registry);
        sent(*c, 1);
        c->guard.on_reply(false, 0, in_transaction, true);
        REQUIRE(a.g().claims().size() == 1);
        c.reset();  // the session ends mid-transaction
    }
    CHECK(a.g().claims().size() == 0);
    CHECK(b.query("INSERT INTO enroll (user_id) VALUES (1)").kind == Kind::check);
}

TEST_CASE("AnEarlierCommandsReplyDoesNotEndALaterCommandsClaims", "[mysql][guard][claims]") {
    MySqlGuardFixture a;
    MySqlGuardFixture b(a.registry);
    // Two INSERTs sent before either is answered: the first's OK (autocommit, no transaction)
    // frees the first's key only.
    sent(a, 1);
    sent(a, 2);
    a.guard.on_reply(false, 0, autocommit, false);  // the first INSERT's OK
    CHECK(b.query("INSERT INTO enroll (user_id) VALUES (2)").kind == Kind::wait);
    CHECK(b.query("INSERT INTO enroll (user_id) VALUES (1)").kind == Kind::check);
}

TEST_CASE("AWaitEndsWithTheServersErrorWhenTheKeyIsStillHeld", "[mysql][guard][claims]") {
    MySqlGuardFixture a;
    MySqlGuardFixture b(a.registry);
    sent(a, 1);
    a.guard.on_reply(false, 0, in_transaction, true);
    REQUIRE(b.query("INSERT INTO enroll (user_id) VALUES (1)").kind == Kind::wait);
    b.guard.end_wait({1205, "HY000", "Lock wait timeout exceeded; try restarting transaction"});
    auto timeout = b.query("INSERT INTO enroll (user_id) VALUES (1)");
    CHECK(timeout.kind == Kind::replace);
    CHECK(timeout.sql == guard::mysql_signal_sql(1205, "HY000",
                                                 "Lock wait timeout exceeded; try restarting "
                                                 "transaction"));
    CHECK(timeout.before.empty());
    // The error was for that command: the next one waits again.
    REQUIRE(b.query("INSERT INTO enroll (user_id) VALUES (1)").kind == Kind::wait);
    b.guard.end_wait({1213, "40001",
                      "Deadlock found when trying to get lock; try restarting "
                      "transaction",
                      true});
    auto deadlock = b.query("INSERT INTO enroll (user_id) VALUES (1)");
    CHECK(deadlock.before == std::vector<std::string>{"\x03ROLLBACK"});
    CHECK(b.g().counters().refused.load() == 2);
    // Released before the command is given again: no error, it goes on.
    REQUIRE(b.query("INSERT INTO enroll (user_id) VALUES (1)").kind == Kind::wait);
    b.guard.end_wait({1317, "70100", "Query execution was interrupted"});
    a.guard.on_reply(false, 0, autocommit, true);
    CHECK(b.query("INSERT INTO enroll (user_id) VALUES (1)").kind == Kind::check);
}

TEST_CASE("LogNeverClaimsNorWaits", "[mysql][guard][claims]") {
    MySqlGuardFixture a(config::GuardAction::log);
    MySqlGuardFixture b(a.registry);
    sent(a, 1);
    CHECK(a.g().claims().size() == 0);
    CHECK(b.query("INSERT INTO enroll (user_id) VALUES (1)").kind == Kind::check);
}

TEST_CASE("AWaitingExecuteIsDecidedAgainFromWhatItCarried", "[mysql][guard][claims]") {
    MySqlGuardFixture a;
    MySqlGuardFixture b(a.registry);
    sent(a, 1);
    a.guard.on_reply(false, 0, in_transaction, true);
    const auto command = [&](const std::string& payload) {
        return b.guard.on_command(payload, b.settings, b.session);
    };
    REQUIRE(command("\x16INSERT INTO enroll (user_id) VALUES (?)").kind == Kind::forward);
    b.guard.on_prepare_answer(util::as_bytes(prepare_ok(4, 1)));
    REQUIRE(command(execute(4, {1})).kind == Kind::wait);
    a.guard.on_reply(false, 0, autocommit, true);
    // (b is not in a transaction: its check sees every commit, a plain one)
    const auto check = command(execute(4, {1}));
    REQUIRE(check.kind == Kind::check);
    CHECK(check.sql.rfind("SELECT CONCAT(EXISTS(", 0) == 0);
    CHECK(b.answer("0").kind == Kind::forward);
}

TEST_CASE("UnderRepeatableReadAKeyCommittedSinceTheSnapshotIsADuplicate",
          "[mysql][guard][claims]") {
    MySqlGuardFixture a;
    MySqlGuardFixture b(a.registry);
    b.query("BEGIN");  // sent outside a transaction: b's start tick
    b.session.server_status = in_transaction;
    b.session.status_seen = true;
    sent(a, 1);
    a.guard.on_reply(false, 0, autocommit, true);  // a commits key 1
    // b's snapshot may not show it: 'R' and no row seen is the unique key's 1062
    const auto marked = b.query("INSERT INTO enroll (user_id) VALUES (1)");
    REQUIRE(marked.kind == Kind::check);
    CHECK(marked.sql.rfind("SELECT CONCAT(IF(@@tx_isolation = 'REPEATABLE-READ', 'R', 'C'), "
                           "EXISTS(",
                           0) == 0);
    CHECK(signals(b.answer("R0"), "1062", "Duplicate entry '1' for key 'enroll_uniq'"));
    // seen is seen, whatever the isolation
    REQUIRE(b.query("INSERT INTO enroll (user_id) VALUES (1)").kind == Kind::check);
    CHECK(signals(b.answer("C1"), "1062", "Duplicate entry '1' for key 'enroll_uniq'"));
    // once b sends a command outside a transaction after that commit, its check is a plain
    // one again
    b.session.server_status = autocommit;
    b.query("BEGIN");
    b.session.server_status = in_transaction;
    const auto plain = b.query("INSERT INTO enroll (user_id) VALUES (1)");
    REQUIRE(plain.kind == Kind::check);
    CHECK(plain.sql == "SELECT CONCAT(EXISTS(SELECT 1 FROM `app`.`enroll` WHERE `user_id` = 1))");
    CHECK(b.answer("0").kind == Kind::forward);
    // a transaction that sent a ROLLBACK records no commit
    MySqlGuardFixture c(a.registry);
    c.query("BEGIN");
    c.session.server_status = in_transaction;
    c.session.status_seen = true;
    a.query("BEGIN");
    sent(a, 2);
    a.guard.on_reply(false, 0, in_transaction, true);
    a.query("ROLLBACK");
    a.guard.on_reply(false, 0, autocommit, true);
    const auto after_rollback = c.query("INSERT INTO enroll (user_id) VALUES (2)");
    REQUIRE(after_rollback.kind == Kind::check);
    CHECK(after_rollback.sql.rfind("SELECT CONCAT(EXISTS(", 0) == 0);
}

TEST_CASE("AnInsertThatWroteNoneOfItsKeysRecordsNoCommit", "[mysql][guard][claims]") {
    MySqlGuardFixture a;
    MySqlGuardFixture b(a.registry);
    b.query("BEGIN");  // b's snapshot may be older than anything a commits below
    b.session.server_status = in_transaction;
    b.session.status_seen = true;
    a.query("BEGIN");
    a.guard.on_reply(false, 0, in_transaction, true, 0);
    sent(a, 1);
    a.guard.on_reply(true, 1062, in_transaction, true);  // refused for the primary key
    sent(a, 2);
    a.guard.on_reply(false, 0, in_transaction, true, 0);  // skipped (INSERT IGNORE)
    sent(a, 3);
    a.guard.on_reply(false, 0, in_transaction, true, 1);  // written
    // Key 4 written by one INSERT, then refused by a second INSERT of it: still written.
    sent(a, 4);
    a.guard.on_reply(false, 0, in_transaction, true, 1);
    REQUIRE(a.query("INSERT INTO enroll (user_id) VALUES (4)").kind == Kind::check);
    REQUIRE(a.answer("1").kind == Kind::replace);  // the proxy's 1062, an ERR from the server
    a.guard.on_command_sent();
    a.guard.on_reply(true, 1062, in_transaction, true);
    // Two statements in one string: the ERR may be the second's, the INSERT's keys written.
    REQUIRE(a.query("INSERT INTO enroll (user_id) VALUES (5); SELECT 1").kind == Kind::forward);
    a.guard.on_command_sent();
    a.guard.on_reply(true, 1146, in_transaction, true);
    a.query("COMMIT");
    a.guard.on_command_sent();
    a.guard.on_reply(false, 0, autocommit, true, 0);
    for (int key : {1, 2, 3, 4, 5}) {
        const auto step =
            b.query("INSERT INTO enroll (user_id) VALUES (" + std::to_string(key) + ")");
        REQUIRE(step.kind == Kind::check);
        const bool marked = step.sql.rfind("SELECT CONCAT(IF(@@tx_isolation", 0) == 0;
        CHECK(marked == (key >= 3));
        b.answer(marked ? "C0" : "0");
        b.guard.on_command_sent();
        b.guard.on_reply(true, 1062, in_transaction, true);
    }
}

TEST_CASE("ABeginInsideATransactionCommitsItsClaims", "[mysql][guard][claims]") {
    MySqlGuardFixture a;
    MySqlGuardFixture b(a.registry);
    const auto in_a_transaction = [&](const std::string& begin) {
        a.query(begin);
        a.guard.on_command_sent();
        a.guard.on_reply(false, 0, in_transaction, true, 0);
        a.session.server_status = in_transaction;
        a.session.status_seen = true;
    };
    in_a_transaction("BEGIN");
    sent(a, 1);
    a.guard.on_reply(false, 0, in_transaction, true, 1);
    CHECK(b.query("INSERT INTO enroll (user_id) VALUES (1)").kind == Kind::wait);
    // not a BEGIN: a compound statement, or a BEGIN the server refused
    for (const char* other : {"BEGIN NOT ATOMIC SELECT 1; END", "SELECT 'begin'"}) {
        a.query(other);
        a.guard.on_command_sent();
        a.guard.on_reply(false, 0, in_transaction, true, 0);
    }
    a.query("BEGIN");
    a.guard.on_command_sent();
    a.guard.on_reply(true, 1064, in_transaction, true);
    CHECK(a.g().claims().size() == 1);
    in_a_transaction("/* new */ begin work;");
    CHECK(a.g().claims().size() == 0);
    // committed: b, outside a transaction, is checked (no wait)
    REQUIRE(b.query("INSERT INTO enroll (user_id) VALUES (1)").kind == Kind::check);
    CHECK(b.answer("1").kind == Kind::replace);
    b.guard.on_command_sent();
    b.guard.on_reply(true, 1062, autocommit, true);
    sent(a, 2);
    a.guard.on_reply(false, 0, in_transaction, true, 1);
    in_a_transaction("START TRANSACTION READ WRITE");
    CHECK(a.g().claims().size() == 0);
    // A COMMIT that chains (AND CHAIN, or completion_type = CHAIN): its OK says the next
    // transaction is open; the keys before it are committed, and a later ROLLBACK keeps them.
    MySqlGuardFixture c(a.registry);
    c.query("BEGIN");  // c's snapshot is older than a's commits below
    c.session.server_status = in_transaction;
    c.session.status_seen = true;
    sent(a, 3);
    a.guard.on_reply(false, 0, in_transaction, true, 1);
    in_a_transaction("COMMIT AND CHAIN");
    CHECK(a.g().claims().size() == 0);
    in_a_transaction("ROLLBACK");
    const auto after_chain = c.query("INSERT INTO enroll (user_id) VALUES (3)");
    REQUIRE(after_chain.kind == Kind::check);
    CHECK(after_chain.sql.rfind("SELECT CONCAT(IF(@@tx_isolation", 0) == 0);
    CHECK(signals(c.answer("R0"), "1062", "Duplicate entry '3' for key 'enroll_uniq'"));
    // ROLLBACK [WORK] TO a savepoint ends nothing; ROLLBACK AND CHAIN ends the keys unrecorded.
    sent(a, 4);
    a.guard.on_reply(false, 0, in_transaction, true, 1);
    in_a_transaction("ROLLBACK WORK TO SAVEPOINT s");
    CHECK(a.g().claims().size() == 1);
    in_a_transaction("rollback and chain");
    CHECK(a.g().claims().size() == 0);
    const auto after_rollback = c.query("INSERT INTO enroll (user_id) VALUES (4)");
    REQUIRE(after_rollback.kind == Kind::check);
    CHECK(after_rollback.sql.rfind("SELECT CONCAT(EXISTS(", 0) == 0);
}

TEST_CASE("AnExecuteThatMayNameAnUnansweredPrepareIsDeferred", "[mysql][guard][prepared]") {
    MySqlGuardFixture f;
    const auto command = [&](const std::string& payload) {
        return f.guard.on_command(payload, f.settings, f.session);
    };
    REQUIRE(command("\x16INSERT INTO enroll (user_id) VALUES (?)").kind == Kind::forward);
    // Sent before the prepare's answer: the id it names may be the one the server gives.
    CHECK(command(execute(1, {1})).kind == Kind::defer);
    CHECK(command(execute(0xFFFFFFFFu, {1})).kind == Kind::defer);
    f.guard.on_prepare_answer(util::as_bytes(prepare_ok(1, 1)));
    CHECK(command(execute(0xFFFFFFFFu, {1})).kind == Kind::forward);
    REQUIRE(command(execute(1, {1}, false)).kind == Kind::check);  // in the key set now
    CHECK(f.answer("1").kind == Kind::replace);
    CHECK(command(execute(9, {1})).kind == Kind::forward);  // unknown, nothing pending
    // After a failed prepare, -1 names no statement the proxy knows.
    REQUIRE(command("\x16INSERT INTO enroll (user_id) VALUES (?)").kind == Kind::forward);
    f.guard.on_prepare_answer(util::as_bytes(std::string("\xff\x16\x04#42S22bad", 12)));
    CHECK(uniqguard::test::signals(
        command(execute(0xFFFFFFFFu, {2})), "1235",
        mysql_unenforced_message("an execute of statement id -1 after a failed prepare",
                                 "app.enroll", "enroll_uniq")));
    // The server owes nothing yet a prepare is taken as unanswered: dropped, never deferred.
    REQUIRE(command("\x16INSERT INTO enroll (user_id) VALUES (?)").kind == Kind::forward);
    REQUIRE(command(execute(2, {3})).kind == Kind::defer);
    f.guard.forget_unanswered_prepares();
    CHECK(command(execute(2, {3})).kind == Kind::forward);
}

TEST_CASE("KillQueryTargets", "[mysql][kill]") {
    CHECK(mysql_kill_query_target("KILL QUERY 12") == 12u);
    CHECK(mysql_kill_query_target("  kill /* why */ soft query 4294967295 ;") == 4294967295u);
    CHECK(mysql_kill_query_target("KILL HARD QUERY 7") == 7u);
    CHECK_FALSE(mysql_kill_query_target("KILL 12"));  // the connection: the server does it
    CHECK_FALSE(mysql_kill_query_target("KILL CONNECTION 12"));
    CHECK_FALSE(mysql_kill_query_target("KILL QUERY ID 12"));  // a query id, not a connection
    CHECK_FALSE(mysql_kill_query_target("KILL QUERY USER bob"));
    CHECK_FALSE(mysql_kill_query_target("KILL QUERY 4294967296"));
    CHECK_FALSE(mysql_kill_query_target("KILL QUERY 12, 13"));
    CHECK_FALSE(mysql_kill_query_target("/*!KILL QUERY */ 12"));
    CHECK_FALSE(mysql_kill_query_target("INSERT INTO t VALUES (1)"));
}

TEST_CASE("ClaimsOfACommandNotSentYetOutliveAnEarlierAnswer", "[mysql][guard][claims]") {
    MySqlGuardFixture a;
    MySqlGuardFixture b(a.registry);
    sent(a, 1);
    a.guard.on_reply(false, 0, autocommit, true);
    // Key 1 is in the key set: the next INSERT of it is checked, its claim taken meanwhile...
    REQUIRE(a.query("INSERT INTO enroll (user_id) VALUES (1)").kind == Kind::check);
    // ...and the answer to a command sent before it (nothing else owed, no transaction) must
    // not free that claim: the INSERT is still to be sent.
    a.guard.on_reply(false, 0, autocommit, true);
    CHECK(a.g().claims().size() == 1);
    CHECK(b.query("INSERT INTO enroll (user_id) VALUES (1)").kind == Kind::wait);
}

TEST_CASE("XaPrepareAfterGuardedWritesIsRefused", "[mysql][guard][claims]") {
    MySqlGuardFixture a;
    MySqlGuardFixture b(a.registry);
    sent(a, 1);
    a.guard.on_reply(false, 0, in_transaction, true);
    const auto refused = a.query("/* x */ xa  PREPARE 'x'");
    CHECK(uniqguard::test::signals(
        refused, "1235",
        "uniqguard: XA PREPARE is refused in a transaction that wrote keys guarded by uniqguard "
        "(a two-phase commit cannot be followed: XA COMMIT may come from another session); end "
        "it with XA COMMIT ... ONE PHASE or XA ROLLBACK"));
    // Also as the second statement of a string (XA END and XA PREPARE sent together).
    CHECK(a.query("XA END 'x'; XA PREPARE 'x'").sql == refused.sql);
    CHECK(a.query("XA END 'x'; SELECT 'xa prepare'").kind == Kind::forward);
    CHECK(a.query("XA END 'x'; XA PREPARE 'x'; SELECT X'1'").sql == refused.sql);
    // A session that claimed nothing prepares as it likes.
    CHECK(b.query("XA PREPARE 'y'").kind == Kind::forward);
}

TEST_CASE("ARollbackToASavepointUnrecordsOnlyTheWritesAfterIt", "[mysql][guard][claims]") {
    MySqlGuardFixture a;
    // One session per key asked about, each in a transaction whose snapshot is older than
    // a's commits below.
    std::vector<std::unique_ptr<MySqlGuardFixture>> older;
    for (int key = 1; key <= 6; ++key) {
        older.push_back(std::make_unique<MySqlGuardFixture>(a.registry));
        older.back()->query("BEGIN");
        older.back()->session.server_status = in_transaction;
        older.back()->session.status_seen = true;
    }
    const auto answered = [&](const std::string& sql, bool error = false) {
        a.query(sql);
        a.guard.on_command_sent();
        a.guard.on_reply(error, error ? 1305 : 0, in_transaction, true, 0);
        a.session.server_status = in_transaction;
        a.session.status_seen = true;
    };
    const auto inserted = [&](int key) {
        sent(a, key);
        a.guard.on_reply(false, 0, in_transaction, true, 1);
    };
    answered("BEGIN");
    inserted(1);
    answered("SAVEPOINT s");
    inserted(2);
    answered("savepoint T");
    inserted(3);
    answered("SAVEPOINT s");  // moved after 3 (the old one is gone)
    inserted(4);
    answered("ROLLBACK TO SAVEPOINT t");  // undoes 3 and 4, deletes the new s
    answered("ROLLBACK TO s", true);      // 1305
    inserted(5);
    CHECK(a.g().claims().size() == 5);  // InnoDB keeps the locks until the transaction ends
    answered("COMMIT AND CHAIN");
    CHECK(a.g().claims().size() == 0);
    // A ROLLBACK TO the proxy does not read (a quoted name) counts the chained transaction
    // as rolled back, as before.
    answered("SAVEPOINT s");
    inserted(6);
    answered("/* x */ rollback work to `s`;");
    answered("COMMIT AND CHAIN");
    for (int key = 1; key <= 6; ++key) {
        const auto step = older[key - 1]->query("INSERT INTO enroll (user_id) VALUES (" +
                                                std::to_string(key) + ")");
        REQUIRE(step.kind == Kind::check);
        const bool recorded = key == 1 || key == 2 || key == 5;
        INFO(key);
        CHECK(step.sql.rfind(recorded ? "SELECT CONCAT(IF(@@tx_isolation" : "SELECT CONCAT(EXISTS(",
                             0) == 0);
    }
}

TEST_CASE("MySqlSavepointCommandsReadAlone", "[mysql][guard][claims]") {
    using K = TransactionCommand::Kind;
    const auto read = [](std::string_view text) { return read_mysql_savepoint_command(text); };
    REQUIRE(read("SAVEPOINT Sp_1"));
    CHECK(read("SAVEPOINT Sp_1")->kind == K::savepoint);
    CHECK(read("SAVEPOINT Sp_1")->name == "sp_1");
    CHECK(read(" /* c */ savepoint a ; -- x")->name == "a");
    CHECK(read("RELEASE SAVEPOINT b")->kind == K::release);
    for (const char* rollback : {"ROLLBACK TO c", "rollback work to c", "ROLLBACK TO SAVEPOINT c",
                                 "ROLLBACK WORK TO SAVEPOINT c;", "# x\nrollback to\tc"}) {
        INFO(rollback);
        REQUIRE(read(rollback));
        CHECK(read(rollback)->kind == K::rollback_to);
        CHECK(read(rollback)->name == "c");
    }
    for (const char* other :
         {"SAVEPOINT", "SAVEPOINT `a`", "SAVEPOINT a; INSERT INTO t VALUES (1)", "SAVEPOINT a b",
          "/*!SAVEPOINT a*/", "RELEASE a", "ROLLBACK", "ROLLBACK TO", "ROLLBACK TO SAVEPOINT",
          "ROLLBACK AND CHAIN", "ROLLBACK TO a b", "ROLLBACK WORK WORK TO a", "SELECT 1",
          "XA ROLLBACK 'x'", "ROLLBACK TO s$1"}) {
        INFO(other);
        CHECK_FALSE(read(other));
    }
}
