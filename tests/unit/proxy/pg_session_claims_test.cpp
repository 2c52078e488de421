#include "proxy/pg_session_claims.hpp"

#include <catch2/catch.hpp>

using uniqguard::guard::KeyClaims;
using uniqguard::proxy::read_transaction_command;
using uniqguard::proxy::SessionClaims;
using uniqguard::proxy::TransactionCommand;
using Status = uniqguard::protocol::postgres::TransactionStatus;
using Kind = TransactionCommand::Kind;

namespace {
TransactionCommand command(std::string_view sql) {
    auto c = read_transaction_command(sql);
    REQUIRE(c);
    return *c;
}
}  // namespace

TEST_CASE("Transaction commands are read as the server reads them", "[session_claims]") {
    CHECK(command("BEGIN").kind == Kind::begin);
    CHECK(command("  start transaction isolation level serializable").kind == Kind::begin);
    CHECK(command("commit").kind == Kind::end);
    CHECK(command("END").kind == Kind::end);
    CHECK(command("ABORT").kind == Kind::end);
    CHECK(command("rollback").kind == Kind::end);
    CHECK(command("ROLLBACK WORK").kind == Kind::end);
    CHECK_FALSE(read_transaction_command("COMMIT PREPARED 'x'"));
    CHECK_FALSE(read_transaction_command("ROLLBACK PREPARED 'x'"));
    CHECK_FALSE(read_transaction_command("INSERT INTO t VALUES (1)"));
    CHECK_FALSE(read_transaction_command("savepoint"));
    // AND CHAIN: the next transaction opens at once.
    for (const char* chain :
         {"COMMIT AND CHAIN", "end work and chain", "ABORT TRANSACTION AND CHAIN",
          "rollback and chain;", "ROLLBACK WORK AND CHAIN"}) {
        INFO(chain);
        CHECK(command(chain).kind == Kind::end);
        CHECK(command(chain).chain);
    }
    for (const char* no_chain : {"COMMIT", "COMMIT AND NO CHAIN", "rollback work", "END"})
        CHECK_FALSE(command(no_chain).chain);

    auto sp = command("/* a /* nested */ comment */ -- line\n SAVEPOINT Sp1");
    CHECK(sp.kind == Kind::savepoint);
    CHECK(sp.name == "sp1");  // unquoted names fold to lower case
    auto quoted = command("SAVEPOINT \"s1_x\"\"Y\"");
    CHECK(quoted.name == "s1_x\"Y");  // Django quotes its savepoint names
    auto release = command("RELEASE SAVEPOINT a");
    CHECK(release.kind == Kind::release);
    CHECK(release.name == "a");
    CHECK(command("release b").name == "b");
    auto to = command("ROLLBACK TRANSACTION TO SAVEPOINT \"S\"");
    CHECK(to.kind == Kind::rollback_to);
    CHECK(to.name == "S");
    CHECK(command("rollback to c").name == "c");
}

TEST_CASE("Claims end at the ReadyForQuery that says the transaction is over", "[session_claims]") {
    KeyClaims table;
    SessionClaims mine(1, nullptr);
    SessionClaims other(2, nullptr);
    // BEGIN; INSERT k (claimed); the server answers 'T': still held.
    mine.on_transaction_command(command("BEGIN"));
    mine.ready_requested();
    mine.on_ready_for_query(Status::in_block, true);
    REQUIRE(mine.claim(table, 10));
    mine.ready_requested();
    mine.on_ready_for_query(Status::in_block, true);
    CHECK_FALSE(other.claim(table, 10));
    // COMMIT answered 'I': free.
    mine.on_transaction_command(command("COMMIT"));
    mine.ready_requested();
    mine.on_ready_for_query(Status::idle, true);
    CHECK(mine.held() == 0);
    CHECK(other.claim(table, 10));
}

TEST_CASE("A failed statement outside savepoints frees the transaction's keys",
          "[session_claims]") {
    KeyClaims table;
    SessionClaims mine(1, nullptr);
    mine.on_transaction_command(command("BEGIN"));
    mine.ready_requested();
    mine.on_ready_for_query(Status::in_block, true);
    REQUIRE(mine.claim(table, 10));
    mine.ready_requested();
    mine.on_ready_for_query(Status::in_block, true);
    mine.ready_requested();  // SELECT 1/0
    mine.on_ready_for_query(Status::failed, true);
    CHECK(table.holder(10) == 0);
}

TEST_CASE(
    "Savepoints: ROLLBACK TO frees what came after, RELEASE hands keys up, an error "
    "inside a savepoint frees only its own",
    "[session_claims]") {
    KeyClaims table;
    SessionClaims mine(1, nullptr);
    auto step = [&](std::string_view sql, Status status) {
        if (auto c = read_transaction_command(sql)) mine.on_transaction_command(*c);
        mine.ready_requested();
        mine.on_ready_for_query(status, true);
    };
    step("BEGIN", Status::in_block);
    REQUIRE(mine.claim(table, 1));  // depth 0
    step("INSERT", Status::in_block);
    step("SAVEPOINT a", Status::in_block);
    REQUIRE(mine.claim(table, 2));  // depth 1
    step("INSERT", Status::in_block);
    step("SAVEPOINT b", Status::in_block);
    REQUIRE(mine.claim(table, 3));  // depth 2
    step("INSERT", Status::in_block);
    step("RELEASE b", Status::in_block);  // 3 now belongs to a
    step("ROLLBACK TO a", Status::in_block);
    CHECK(table.holder(1) == 1);
    CHECK(table.holder(2) == 0);
    CHECK(table.holder(3) == 0);
    // Still inside a: a key claimed there and a failing statement free it, not key 1.
    REQUIRE(mine.claim(table, 4));
    step("INSERT", Status::in_block);
    step("SELECT 1/0", Status::failed);
    CHECK(table.holder(4) == 0);
    CHECK(table.holder(1) == 1);
    step("ROLLBACK TO a", Status::in_block);
    step("ROLLBACK", Status::idle);
    CHECK(table.size() == 0);
}

TEST_CASE("In a pipeline a ReadyForQuery frees only the keys of the steps it answers",
          "[session_claims]") {
    KeyClaims table;
    SessionClaims mine(1, nullptr);
    // INSERT k1; Sync; BEGIN; INSERT k2; Sync — all sent before any reply.
    REQUIRE(mine.claim(table, 1));
    mine.ready_requested();
    mine.on_transaction_command(command("BEGIN"));
    REQUIRE(mine.claim(table, 2));
    mine.ready_requested();
    mine.on_ready_for_query(Status::idle, false);  // the first Sync: k1's step is over
    CHECK(table.holder(1) == 0);
    CHECK(table.holder(2) == 1);
    mine.on_ready_for_query(Status::in_block, true);
    CHECK(table.holder(2) == 1);
    mine.release_all();  // the session ends
    CHECK(table.size() == 0);
}

TEST_CASE("A key the statement drops is let go, unless held from before", "[session_claims]") {
    KeyClaims table;
    SessionClaims mine(1, nullptr);
    SessionClaims other(2, nullptr);
    mine.begin_statement();
    REQUIRE(mine.claim(table, 10));  // an earlier statement's key
    mine.begin_statement();
    REQUIRE(mine.claim(table, 10));  // written again: already ours, held from before
    REQUIRE(mine.claim(table, 20));
    REQUIRE(mine.claim(table, 30));
    mine.release_statement_key(table, 20);
    mine.release_statement_key(table, 10);
    CHECK(mine.held() == 2);
    CHECK(other.claim(table, 20));
    CHECK_FALSE(other.claim(table, 10));
    CHECK_FALSE(other.claim(table, 30));
    // Another table's key of the same fingerprint is not this one.
    KeyClaims elsewhere;
    mine.release_statement_key(elsewhere, 30);
    CHECK_FALSE(other.claim(table, 30));
}

TEST_CASE("A ReadyForQuery that says the transaction committed records its keys' commit",
          "[session_claims]") {
    KeyClaims table;
    SessionClaims mine(1, nullptr);
    const auto before = uniqguard::guard::commit_clock().load();
    REQUIRE(mine.claim(table, 10, 0, true));
    mine.ready_requested();
    mine.on_ready_for_query(Status::idle, true, false);  // rolled back
    CHECK_FALSE(table.committed_after(10, 0));
    REQUIRE(mine.claim(table, 11, 0, true));
    REQUIRE(mine.claim(table, 13));  // by a statement that may write no row: no commit of it
    mine.ready_requested();
    mine.on_ready_for_query(Status::idle, true, true);
    CHECK(table.committed_after(11, before));
    CHECK_FALSE(table.committed_after(11, uniqguard::guard::commit_clock().load()));
    CHECK_FALSE(table.committed_after(13, 0));
    // A failed block frees its keys without a commit.
    REQUIRE(mine.claim(table, 12, 0, true));
    mine.ready_requested();
    mine.on_ready_for_query(Status::failed, true, true);
    CHECK_FALSE(table.committed_after(12, 0));
}

TEST_CASE("A commit records a key claimed again by a message sent after it", "[session_claims]") {
    KeyClaims table;
    SessionClaims mine(1, nullptr);
    const auto before = uniqguard::guard::commit_clock().load();
    // `INSERT k; COMMIT` then `INSERT k` sent before the first ReadyForQuery (a pipeline).
    REQUIRE(mine.claim(table, 20, 0, true));
    REQUIRE(mine.claim(table, 21, 0, true));
    mine.ready_requested();
    REQUIRE(mine.claim(table, 20, 0, true));  // the next message's
    REQUIRE(mine.claim(table, 21));           // an UPDATE's: no record of its own
    mine.ready_requested();
    mine.on_ready_for_query(Status::idle, false, true);
    CHECK(table.committed_after(20, before));
    CHECK(table.committed_after(21, before));
    CHECK(mine.held() == 2);  // for the later message
    // It failed: its transaction records nothing more, and loses nothing recorded already.
    const auto after_commit = uniqguard::guard::commit_clock().load();
    mine.unrecord(2);
    mine.on_ready_for_query(Status::idle, true, true);
    CHECK(mine.held() == 0);
    CHECK_FALSE(table.committed_after(20, after_commit));
    CHECK_FALSE(table.committed_after(21, after_commit));
    CHECK(table.committed_after(20, before));
}
