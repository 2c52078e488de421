// Knows, from the packets passing both ways in the command phase, where each command's response
// ends, without holding or parsing result sets: the server's packets are seen by their first
// bytes only (a row of 1 GB passes as a stream). The session uses it for graceful shutdown (a
// session is idle when nothing is owed) and to tell commands from the other packets a client
// sends (LOAD DATA LOCAL file contents, authentication answers during COM_CHANGE_USER); the
// guard will use the same command boundaries.
//
// What ends a response (protocol 10):
//   OK / ERR                        most commands; COM_QUERY and COM_STMT_EXECUTE results may
//                                   announce another result with SERVER_MORE_RESULTS_EXISTS;
//   column count, definitions, (EOF), rows, EOF-or-OK
//                                   a result set; the terminator is a 0xFE packet shorter than
//                                   9 bytes (with CLIENT_DEPRECATE_EOF: an OK packet with the
//                                   0xFE header, shorter than a frame); an ERR ends it too;
//   0xFB filename                   LOAD DATA LOCAL: the client sends the file, an empty packet,
//                                   then the server's OK or ERR;
//   COM_STMT_PREPARE's OK           followed by parameter and column definitions (each list
//                                   closed by an EOF unless CLIENT_DEPRECATE_EOF);
//   COM_CHANGE_USER                 a new authentication exchange until OK or ERR;
//   COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA, COM_QUIT
//                                   no response at all.
// MariaDB's progress reports (ERR with code 0xFFFF) are not the end of anything.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/bytes.hpp"

namespace uniqguard::protocol::mysql {

enum class Command : std::uint8_t {
    sleep = 0x00,
    quit = 0x01,
    init_db = 0x02,
    query = 0x03,
    field_list = 0x04,
    statistics = 0x09,
    process_info = 0x0A,
    process_kill = 0x0C,
    ping = 0x0E,
    change_user = 0x11,
    binlog_dump = 0x12,
    stmt_prepare = 0x16,
    stmt_execute = 0x17,
    stmt_send_long_data = 0x18,
    stmt_close = 0x19,
    stmt_reset = 0x1A,
    set_option = 0x1B,
    stmt_fetch = 0x1C,
    binlog_dump_gtid = 0x1E,
    reset_connection = 0x1F,
};

namespace server_status {
inline constexpr std::uint16_t in_transaction = 0x0001;
inline constexpr std::uint16_t autocommit = 0x0002;
inline constexpr std::uint16_t more_results_exist = 0x0008;
inline constexpr std::uint16_t cursor_exists = 0x0040;
}  // namespace server_status

// What a client packet in the command phase is.
enum class ClientPacketRole {
    command,           // a command the server answers
    command_no_reply,  // COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA, COM_QUIT
    file_data,         // LOAD DATA LOCAL contents (the empty packet included)
    auth_answer,       // an answer inside COM_CHANGE_USER's authentication exchange
};

// A server packet as the tracker sees it: its first bytes and the length of its first frame.
struct ServerPacketHead {
    util::Bytes head;  // at least min(first_frame_length, 32) bytes
    std::uint32_t first_frame_length = 0;
};

class CommandTracker {
  public:
    static constexpr std::size_t head_bytes = 32;

    explicit CommandTracker(std::uint64_t capabilities);

    // One whole client packet in the command phase (`payload`: its first frame's payload; an
    // empty one for the empty packet).
    ClientPacketRole on_client_packet(util::Bytes payload);
    void on_server_packet(const ServerPacketHead& packet);

    // Nothing owed by either side: every command answered, no file upload, no authentication.
    bool idle() const { return pending_.empty(); }
    // The client, not the server, speaks next (LOAD DATA LOCAL file, authentication answer).
    bool client_owes_packets() const;
    // The current database, as COM_INIT_DB, `USE` and COM_CHANGE_USER set it.
    const std::string& database() const { return database_; }
    void set_database(std::string database) { database_ = std::move(database); }
    // The last status flags the server sent (in transaction, ...).
    std::uint16_t status() const { return status_; }
    // The next server packet starts the answer to a COM_STMT_PREPARE (its OK or ERR).
    bool awaiting_prepare_answer() const {
        return !pending_.empty() && pending_.front().command == Command::stmt_prepare &&
               pending_.front().phase == Phase::first;
    }
    // A protocol error was seen (a packet that fits no response shape): the session closes.
    bool broken() const { return broken_; }
    // Commands answered so far (their last reply packet seen): a change across one
    // on_server_packet means that packet ended a command's answer.
    std::uint64_t answered() const { return answered_; }
    // Commands that get an answer, counted as they are sent: the n-th one's answer ends when
    // answered() reaches n.
    std::uint64_t sent() const { return sent_; }

  private:
    enum class Phase {
        first,  // the first packet of a (next) result
        column_definitions,
        column_eof,  // the EOF after the definitions (without CLIENT_DEPRECATE_EOF)
        rows,
        file_upload,  // the client sends the LOAD DATA LOCAL file
        file_result,  // the OK or ERR after the file
        prepare_params,
        prepare_params_eof,
        prepare_columns,
        prepare_columns_eof,
        authentication,  // COM_CHANGE_USER: server packets until OK or ERR
        auth_answer,     // COM_CHANGE_USER: the client answers a switch or more-data request
        field_list,      // COM_FIELD_LIST: definitions until EOF or ERR
        single,          // one packet, whatever it is
        endless,         // binlog streaming: never ends
    };
    struct Pending {
        Command command;
        Phase phase;
        std::uint64_t left = 0;          // definitions still to come
        std::uint64_t then_columns = 0;  // COM_STMT_PREPARE: column definitions after the params
        std::optional<std::string> database_on_ok;  // applied when the command succeeds
    };

    bool is_terminator(const ServerPacketHead& packet) const;
    // Status flags of an OK packet (0x00 or 0xFE header) or, without CLIENT_DEPRECATE_EOF, an EOF.
    std::uint16_t read_status(util::Bytes head, bool eof_layout) const;
    void end_result(std::uint16_t status, bool allow_more);
    void after_prepare_ok(Pending& p, util::Bytes head);
    void pop_front();

    bool deprecate_eof_;
    std::vector<Pending> pending_;  // in the order sent; the front is being answered
    std::string database_;
    std::uint16_t status_ = 0;
    std::uint64_t answered_ = 0;
    std::uint64_t sent_ = 0;
    bool broken_ = false;
};

// The database of a statement that is a single `USE db` (comments, backquotes, a final `;`);
// nullopt for anything else.
std::optional<std::string> parse_use_statement(std::string_view sql);

}  // namespace uniqguard::protocol::mysql
