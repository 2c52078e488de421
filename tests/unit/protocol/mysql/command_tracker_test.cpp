// Command/response boundaries, fed the packets the protocol documentation shows for each
// command, through the packet scanner (so frames split across reads are covered too).
#include "protocol/mysql/command_tracker.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "protocol/mysql/capabilities.hpp"
#include "protocol/mysql/packet_scanner.hpp"
#include "protocol/mysql/packet_writer.hpp"

using namespace uniqguard::protocol::mysql;
using uniqguard::util::as_bytes;

namespace {
const std::string ok_packet("\x00\x00\x00\x02\x00\x00\x00", 7);
const std::string ok_more_results("\x00\x01\x00\x0a\x00\x00\x00", 7);  // status 0x000A
const std::string eof_packet("\xfe\x00\x00\x02\x00", 5);
const std::string eof_more_results("\xfe\x00\x00\x0a\x00", 5);
const std::string ok_as_eof("\xfe\x00\x00\x02\x00\x00\x00", 7);  // CLIENT_DEPRECATE_EOF
const std::string ok_as_eof_more("\xfe\x00\x00\x0a\x00\x00\x00", 7);
const std::string err_packet = "\xff\x7a\x04#42S02Table 'app.nope' doesn't exist";
const std::string column_def = std::string(
                                   "\x03"
                                   "def\x03"
                                   "app\x01t\x01t\x01"
                                   "a\x01"
                                   "a\x0c") +
                               std::string(12, '\0');
const std::string row_packet =
    "\x01"
    "1";

class Observer final : public PacketObserver {
  public:
    explicit Observer(CommandTracker& t) : t_(t) {}
    void on_packet(std::uint8_t, const ServerPacketHead& packet) override {
        t_.on_server_packet(packet);
        ++packets;
    }
    int packets = 0;

  private:
    CommandTracker& t_;
};

// The server's reply as a byte stream, numbered from `sequence`.
std::string reply(std::uint8_t sequence, const std::vector<std::string>& payloads) {
    std::string out;
    for (const auto& p : payloads) sequence = append_packet(out, sequence, p);
    return out;
}

// Feeds the stream to the tracker in pieces of `piece` bytes; returns the packets seen.
int feed(CommandTracker& tracker, PacketScanner& scanner, const std::string& wire,
         std::size_t piece = 3) {
    Observer observer(tracker);
    for (std::size_t i = 0; i < wire.size(); i += piece)
        scanner.feed(as_bytes(wire).subspan(i, std::min(piece, wire.size() - i)), observer);
    return observer.packets;
}

std::string command(Command c, std::string_view argument = {}) {
    return std::string(1, static_cast<char>(c)) + std::string(argument);
}
ClientPacketRole client(CommandTracker& t, const std::string& payload) {
    return t.on_client_packet(as_bytes(payload));
}
}  // namespace

TEST_CASE("PingIsAnsweredByOneOk", "[mysql][tracker]") {
    CommandTracker t(0);
    PacketScanner s;
    CHECK(client(t, command(Command::ping)) == ClientPacketRole::command);
    CHECK_FALSE(t.idle());
    feed(t, s, reply(1, {ok_packet}));
    CHECK(t.idle());
    CHECK(s.at_packet_boundary());
}

TEST_CASE("ResultSetEndsAtItsEofWithoutDeprecateEof", "[mysql][tracker]") {
    CommandTracker t(0);
    PacketScanner s;
    client(t, command(Command::query, "SELECT a FROM t"));
    // column count, definition, EOF, two rows: still owed.
    feed(t, s, reply(1, {"\x01", column_def, eof_packet, row_packet, row_packet}));
    CHECK_FALSE(t.idle());
    feed(t, s, reply(6, {eof_packet}));
    CHECK(t.idle());
}

TEST_CASE("ResultSetEndsAtItsOkWithDeprecateEof", "[mysql][tracker]") {
    CommandTracker t(capability::deprecate_eof);
    PacketScanner s;
    client(t, command(Command::query, "SELECT a FROM t"));
    feed(t, s, reply(1, {"\x01", column_def, row_packet}));
    CHECK_FALSE(t.idle());
    feed(t, s, reply(4, {ok_as_eof}));
    CHECK(t.idle());
}

TEST_CASE("MultiStatementResultsEndAfterTheLastOne", "[mysql][tracker]") {
    CommandTracker t(capability::deprecate_eof | capability::multi_statements);
    PacketScanner s;
    client(t, command(Command::query, "SELECT 1; INSERT ...; SELECT 2"));
    feed(t, s, reply(1, {"\x01", column_def, row_packet, ok_as_eof_more}));
    CHECK_FALSE(t.idle());
    feed(t, s, reply(5, {ok_more_results}));
    CHECK_FALSE(t.idle());
    feed(t, s, reply(6, {"\x01", column_def, row_packet, ok_as_eof}));
    CHECK(t.idle());
}

TEST_CASE("MultiStatementResultsWithEofPackets", "[mysql][tracker]") {
    CommandTracker t(capability::multi_statements);
    PacketScanner s;
    client(t, command(Command::query, "SELECT 1; SELECT 2"));
    feed(t, s, reply(1, {"\x01", column_def, eof_packet, row_packet, eof_more_results}));
    CHECK_FALSE(t.idle());
    feed(t, s, reply(6, {"\x01", column_def, eof_packet, row_packet, eof_packet}));
    CHECK(t.idle());
}

TEST_CASE("AnErrorInTheMiddleOfMultiStatementsEndsTheResponse", "[mysql][tracker]") {
    CommandTracker t(capability::multi_statements);
    PacketScanner s;
    client(t, command(Command::query, "SELECT 1; SELECT * FROM nope; SELECT 3"));
    feed(t, s, reply(1, {"\x01", column_def, eof_packet, row_packet, eof_more_results}));
    feed(t, s, reply(6, {err_packet}));
    CHECK(t.idle());
}

TEST_CASE("RowStartingWithFeIsNotATerminator", "[mysql][tracker]") {
    // Without CLIENT_DEPRECATE_EOF a 0xFE packet of 9 bytes or more is a row (a value whose
    // length is written on 8 bytes); only a shorter one is the EOF.
    CommandTracker t(0);
    PacketScanner s;
    client(t, command(Command::query, "SELECT big"));
    feed(t, s, reply(1, {"\x01", column_def, eof_packet}));
    feed(t, s,
         reply(4, {std::string("\xfe\x00\x00\x00\x01\x00\x00\x00\x00", 9) + std::string(10, 'x')}));
    CHECK_FALSE(t.idle());
    feed(t, s, reply(5, {eof_packet}));
    CHECK(t.idle());
}

TEST_CASE("RowOf16MegabytesPassesWithoutEndingTheResultSet", "[mysql][tracker]") {
    CommandTracker t(capability::deprecate_eof);
    PacketScanner s;
    client(t, command(Command::query, "SELECT blob"));
    // A row of 0xFE-length-prefixed 17 MB value: split into two frames.
    std::string big_row("\xfe\x00\x00\x10\x01\x00\x00\x00\x00", 9);
    big_row += std::string((1 << 24) + 1 - 9 + 9, 'b');
    const auto wire = reply(1, {"\x01", column_def, big_row, ok_as_eof});
    CHECK(feed(t, s, wire, 1 << 16) == 4);
    CHECK(t.idle());
}

TEST_CASE("LoadDataLocalWaitsForTheFileAndTheFinalOk", "[mysql][tracker]") {
    CommandTracker t(capability::deprecate_eof | capability::local_files);
    PacketScanner s;
    client(t, command(Command::query, "LOAD DATA LOCAL INFILE 'x.csv' INTO TABLE t"));
    feed(t, s,
         reply(1, {"\xfb"
                   "x.csv"}));
    CHECK(t.client_owes_packets());
    CHECK(client(t, "1,2\n3,4\n") == ClientPacketRole::file_data);
    CHECK(client(t, "") == ClientPacketRole::file_data);  // the empty packet ends the file
    CHECK_FALSE(t.client_owes_packets());
    CHECK_FALSE(t.idle());
    feed(t, s, reply(4, {ok_packet}));
    CHECK(t.idle());
}

TEST_CASE("PrepareCountsParameterAndColumnDefinitions", "[mysql][tracker]") {
    const std::string prepare_ok("\x00\x07\x00\x00\x00\x01\x00\x02\x00\x00\x00\x00", 12);
    SECTION("with EOF packets") {
        CommandTracker t(0);
        PacketScanner s;
        client(t, command(Command::stmt_prepare, "SELECT a FROM t WHERE b = ? AND c = ?"));
        feed(t, s, reply(1, {prepare_ok, column_def, column_def, eof_packet, column_def}));
        CHECK_FALSE(t.idle());
        feed(t, s, reply(6, {eof_packet}));
        CHECK(t.idle());
    }
    SECTION("with CLIENT_DEPRECATE_EOF") {
        CommandTracker t(capability::deprecate_eof);
        PacketScanner s;
        client(t, command(Command::stmt_prepare, "SELECT a FROM t WHERE b = ? AND c = ?"));
        feed(t, s, reply(1, {prepare_ok, column_def, column_def}));
        CHECK_FALSE(t.idle());
        feed(t, s, reply(4, {column_def}));
        CHECK(t.idle());
    }
    SECTION("an INSERT with no parameters and no columns ends at the OK") {
        CommandTracker t(0);
        PacketScanner s;
        client(t, command(Command::stmt_prepare, "INSERT INTO t VALUES (1)"));
        feed(t, s, reply(1, {std::string("\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 12)}));
        CHECK(t.idle());
    }
}

TEST_CASE("CloseAndSendLongDataHaveNoReply", "[mysql][tracker]") {
    CommandTracker t(0);
    CHECK(client(t, command(Command::stmt_close, std::string("\x07\x00\x00\x00", 4))) ==
          ClientPacketRole::command_no_reply);
    CHECK(client(t, command(Command::stmt_send_long_data, std::string(8, 'x'))) ==
          ClientPacketRole::command_no_reply);
    CHECK(t.idle());
    CHECK(client(t, command(Command::quit)) == ClientPacketRole::command_no_reply);
}

TEST_CASE("ExecuteReturnsABinaryResultSet", "[mysql][tracker]") {
    CommandTracker t(0);
    PacketScanner s;
    client(t, command(Command::stmt_execute, std::string(10, '\0')));
    feed(t, s, reply(1, {"\x01", column_def, eof_packet, std::string("\x00\x00\x01", 3)}));
    CHECK_FALSE(t.idle());
    feed(t, s, reply(5, {eof_packet}));
    CHECK(t.idle());
}

TEST_CASE("PipelinedCommandsAreAnsweredInOrder", "[mysql][tracker]") {
    CommandTracker t(0);
    PacketScanner s;
    client(t, command(Command::stmt_close, std::string("\x07\x00\x00\x00", 4)));
    client(t, command(Command::ping));
    client(t, command(Command::query, "SELECT 1"));
    feed(t, s, reply(1, {ok_packet}));
    CHECK_FALSE(t.idle());
    feed(t, s, reply(1, {"\x01", column_def, eof_packet, row_packet, eof_packet}));
    CHECK(t.idle());
}

TEST_CASE("ChangeUserRelaysAnAuthSwitch", "[mysql][tracker]") {
    CommandTracker t(0);
    PacketScanner s;
    const std::string change_user =
        command(Command::change_user,
                std::string("bob\0\x14", 5) + std::string(20, 'h') + std::string("shop\0", 5));
    client(t, change_user);
    feed(t, s,
         reply(1, {"\xfe"
                   "client_ed25519" +
                   std::string(33, '\0')}));
    CHECK(t.client_owes_packets());
    CHECK(client(t, std::string(64, 's')) == ClientPacketRole::auth_answer);
    CHECK_FALSE(t.idle());
    feed(t, s, reply(3, {ok_packet}));
    CHECK(t.idle());
    CHECK(t.database() == "shop");
}

TEST_CASE("InitDbAndUseTrackTheCurrentDatabase", "[mysql][tracker]") {
    CommandTracker t(0);
    PacketScanner s;
    client(t, command(Command::init_db, "shop"));
    feed(t, s, reply(1, {ok_packet}));
    CHECK(t.database() == "shop");
    client(t, command(Command::query, "use `my``db` ;"));
    feed(t, s, reply(1, {ok_packet}));
    CHECK(t.database() == "my`db");
    client(t, command(Command::init_db, "nope"));
    feed(t, s, reply(1, {"\xff\x19\x04#42000Unknown database 'nope'"}));
    CHECK(t.database() == "my`db");
}

TEST_CASE("ProgressReportsDoNotEndAQuery", "[mysql][tracker]") {
    CommandTracker t(capability::mariadb_progress);
    PacketScanner s;
    client(t, command(Command::query, "ALTER TABLE t ADD INDEX (a)"));
    feed(t, s, reply(1, {std::string("\xff\xff\xff\x01\x01\x02\x10\x27\x00\x05stage", 15)}));
    CHECK_FALSE(t.idle());
    feed(t, s, reply(2, {ok_packet}));
    CHECK(t.idle());
}

TEST_CASE("StatisticsIsOnePlainString", "[mysql][tracker]") {
    CommandTracker t(0);
    PacketScanner s;
    client(t, command(Command::statistics));
    feed(t, s, reply(1, {"Uptime: 5  Threads: 1  Questions: 2"}));
    CHECK(t.idle());
}

TEST_CASE("UseStatementsAreRecognisedAndNothingElse", "[mysql][tracker]") {
    CHECK(parse_use_statement("USE app") == "app");
    CHECK(parse_use_statement("  use\tapp;  ") == "app");
    CHECK(parse_use_statement("/* hi */ USE `a b`") == "a b");
    CHECK(parse_use_statement("-- c\nUSE app # trailing") == "app");
    CHECK_FALSE(parse_use_statement("USE app; SELECT 1"));
    CHECK_FALSE(parse_use_statement("USER app"));
    CHECK_FALSE(parse_use_statement("SELECT 1"));
    CHECK_FALSE(parse_use_statement("/*!40101 USE app */"));
    CHECK_FALSE(parse_use_statement("USE"));
}
