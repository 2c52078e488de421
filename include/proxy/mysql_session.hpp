// One MySQL/MariaDB client connection and its server connection (session passthrough, SPEC §3).
//
// Phases, in order:
//   connect      the server connection opens as soon as the client connects: the server speaks
//                first, and its handshake is what the client needs;
//   handshake    the server's HandshakeV10 is relayed with the capabilities the proxy handles
//                (protocol/mysql/capabilities.hpp); the client's SSLRequest upgrades the client
//                leg; the server leg is upgraded as backend.tls says, on its own; the client's
//                HandshakeResponse goes on with the same capabilities, so both legs agree on every
//                packet layout;
//   auth         AuthRelay relays the exchange; each leg's packets are numbered on their own,
//                since an SSLRequest on one leg only shifts that leg's sequence ids;
//   pumps        client -> server: whole packets (bounded by listen.max_message_bytes), each one
//                classified by the CommandTracker (command, file data, auth answer) and forwarded;
//                server -> client: bytes streamed through the PacketScanner in a fixed-size
//                buffer, each packet's first bytes reported to the tracker.
// Each socket has one writer during the pumps, as in PgSession.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/mysql/command_tracker.hpp"
#include "protocol/mysql/handshake.hpp"
#include "protocol/mysql/packet_reader.hpp"
#include "protocol/mysql/packet_scanner.hpp"
#include "protocol/mysql/packet_writer.hpp"
#include "protocol/mysql/value_reply.hpp"
#include "proxy/mysql_guard.hpp"
#include "proxy/mysql_session_settings.hpp"
#include "proxy/session.hpp"
#include "proxy/shared_state.hpp"
#include "proxy/stream.hpp"
#include "util/byte_buffer.hpp"

namespace uniqguard::proxy {

class WorkerSessions;

class MySqlSession final : public Session, public std::enable_shared_from_this<MySqlSession> {
  public:
    MySqlSession(tcp::socket client, SharedState& shared, WorkerSessions& worker);
    ~MySqlSession() override;

    // Runs the whole session; the coroutine holds a shared_ptr to it.
    static asio::awaitable<void> run(std::shared_ptr<MySqlSession> self);

    void begin_drain() override;
    void close_now() override;

  private:
    enum class PumpEnd { client_closed, server_closed, protocol_error, drained };
    MySqlSession(tcp::socket client, SharedState& shared, WorkerSessions& worker,
                 Reloadable settings);
    class ServerObserver;

    asio::awaitable<bool> connect_and_authenticate_in_time();
    asio::awaitable<bool> connect_and_authenticate();
    // listen.proxy_protocol: the PROXY protocol header (v1 line or v2 block) naming the client,
    // first on the server connection.
    asio::awaitable<bool> send_proxy_header();
    asio::awaitable<bool> relay_authentication(const protocol::mysql::ServerHandshake& handshake,
                                               const protocol::mysql::ClientHandshake& response,
                                               std::uint8_t client_sequence,
                                               std::uint8_t server_sequence);
    // One whole packet from `stream` into `buffer`, its payload joined; nullopt when the peer
    // closed or sent something that is not a packet of at most `max_payload` bytes. `exact`:
    // read no byte past the packet (what follows may be TLS).
    struct WholePacket {
        std::uint8_t first_sequence = 0;
        std::uint8_t last_sequence = 0;
        std::string payload;
    };
    asio::awaitable<std::optional<WholePacket>> read_whole_packet(Stream& stream,
                                                                  util::ByteBuffer& buffer,
                                                                  std::size_t max_payload,
                                                                  bool exact = false);
    asio::awaitable<bool> send_packet(Stream& stream, std::uint8_t sequence, util::Bytes payload);
    asio::awaitable<void> error_to_client(std::uint8_t sequence,
                                          const protocol::mysql::ServerError& error);
    asio::awaitable<PumpEnd> client_to_server();
    // A command the guard does not simply forward (a check, a SIGNAL in its place): the
    // packet at the front of the client buffer, `wire_size` bytes. Nullopt when it is handled;
    // a PumpEnd when the session ends.
    // `step` is the caller's named local (GCC 12: no temporary handed to an awaited call).
    asio::awaitable<std::optional<PumpEnd>> guarded_command(MySqlGuard::Step& step,
                                                            std::size_t wire_size);
    // Sends the proxy's own query and waits for its whole reply (never shown to the client).
    asio::awaitable<std::optional<PumpEnd>> run_check(const std::string& sql);
    // The proxy's own command (its payload, command byte first) in the client's session, once
    // nothing is owed to the client; its reply (OK, ERR or one value) is read into own_reply_.
    asio::awaitable<std::optional<PumpEnd>> run_own_command(const std::string& payload);
    // Waits until the server pump has delivered every reply owed to the client.
    asio::awaitable<bool> wait_until_idle();
    // A `wait` step: sleeps until the claimed key is released, the wait's deadline, a deadlock
    // through this session, KILL QUERY or the session's end; the guard is told which (end_wait).
    // The caller then gives the same command again.
    asio::awaitable<std::optional<PumpEnd>> wait_for_claim();
    // The session's innodb_lock_wait_timeout and (MariaDB) max_statement_time, asked of the
    // server when a wait begins (a guard whose lock_wait_timeout_ms is 0 waits as long as the
    // server would; 0: no max_statement_time).
    struct ServerTimeouts {
        std::chrono::milliseconds lock_wait;
        std::chrono::milliseconds statement;
    };
    asio::awaitable<ServerTimeouts> server_timeouts();
    // A client packet the server will see: the tracker classifies it, and a command the server
    // answers is counted for the guard's claims.
    protocol::mysql::ClientPacketRole track_client_packet(util::Bytes payload);
    // Wakes the client pump when it waits for the server pump (idle, a check's reply).
    void wake_client() {
        if (client_wait_ != nullptr) client_wait_->cancel();
    }
    MySqlGuardSession guard_session() const;
    asio::awaitable<PumpEnd> server_to_client();
    std::string describe_client() const;

    SharedState& shared_;
    WorkerSessions& worker_;
    // What the session started with (a reload does not change a running session's settings).
    const std::shared_ptr<const config::Config> config_;
    const std::shared_ptr<ssl::context> client_tls_;  // null: no TLS toward clients
    const std::shared_ptr<ssl::context> backend_tls_;
    Stream client_;
    std::unique_ptr<Stream> server_;
    std::string client_address_;
    std::string user_;
    protocol::mysql::Flavour flavour_ = protocol::mysql::Flavour::mysql;

    util::ByteBuffer client_buffer_;  // client bytes, whole packets
    util::ByteBuffer server_buffer_;  // server bytes, streamed
    protocol::mysql::PacketScanner server_scanner_;
    std::optional<protocol::mysql::CommandTracker> tracker_;  // from the command phase on
    bool tracker_broken_logged_ = false;

    // The guard (null when no guard is in force) and the settings it reads literals under.
    std::unique_ptr<MySqlGuard> guard_;
    // Woken when a claim this session waits for is released (or by KILL QUERY).
    std::shared_ptr<ClaimWaiter> claim_waiter_;  // with guard_ only
    // The wait of the command being decided: its deadline (kept while the same command waits
    // again after a wake), and when to look for a deadlock next.
    std::optional<std::chrono::steady_clock::time_point> wait_deadline_;
    // MariaDB's max_statement_time, counted from the wait's start (none: max()).
    std::chrono::steady_clock::time_point statement_deadline_ =
        std::chrono::steady_clock::time_point::max();
    void clear_wait_deadlines() {
        wait_deadline_.reset();
        statement_deadline_ = std::chrono::steady_clock::time_point::max();
    }
    std::optional<std::uint32_t> server_connection_id_;  // registered for KILL QUERY
    // A `KILL QUERY <id>` sent: the wait of that session ends once the server has accepted it
    // (its OK), not on the attempt of a client the server refuses (ERR 1095).
    struct PendingKill {
        std::uint64_t command;  // CommandTracker::sent() number of the KILL
        std::uint32_t target;
    };
    std::vector<PendingKill> pending_kills_;
    std::uint64_t server_capabilities_ = 0;  // as sent to the server (reply layouts)
    std::uint16_t login_status_ = 0;         // the status flags of the login's OK
    std::optional<MySqlSessionSettings> settings_;
    // The proxy's own query in flight: the server pump gives its reply bytes here, not to the
    // client (the client pump sent it while nothing was owed to the client).
    std::optional<protocol::mysql::ValueReplyReader> own_reply_;
    std::string own_reply_bytes_;
    bool own_reply_done_ = false;
    asio::steady_timer* client_wait_ = nullptr;  // the client pump's wait, when it waits

    std::optional<protocol::mysql::ServerError> protocol_error_;  // why the client pump ended
    std::uint8_t protocol_error_sequence_ = 0;

    bool draining_ = false;
    bool stop_client_pump_ = false;        // the server pump has ended
    bool protocol_error_pending_ = false;  // bad client packet; ERR after the owed replies
    bool server_pump_writing_ = false;
    asio::cancellation_signal drain_signal_;
};

}  // namespace uniqguard::proxy
