// One client connection and its server connection (session passthrough, SPEC §3).
//
// Phases, in order: startup negotiation with the client (SSLRequest, GSSENCRequest,
// CancelRequest, StartupMessage), connecting to the server, relaying authentication until the
// first ReadyForQuery, then two pumps until either side ends:
//   client -> server: whole messages through the frame reader; each may be held for a verdict
//                     (the guard's place) before it is forwarded, rewritten or answered;
//   server -> client: bytes streamed through the BackendStreamScanner in a fixed-size buffer,
//                     observing ReadyForQuery and ParameterStatus on the way.
// Each socket has one writer during the pumps: the client pump writes the server socket, the
// server pump writes the client socket. That is why the proxy's own answers to a client must
// travel in the server's reply stream rather than be written by the client pump.
#pragma once

#include <chrono>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/postgres/backend_stream.hpp"
#include "protocol/postgres/message_writer.hpp"
#include "protocol/postgres/query_cycle.hpp"
#include "protocol/postgres/reply_tracker.hpp"
#include "protocol/postgres/session_settings.hpp"
#include "protocol/postgres/startup.hpp"
#include "proxy/pg_guard.hpp"
#include "proxy/pg_named_statements.hpp"
#include "proxy/session.hpp"
#include "proxy/shared_state.hpp"
#include "proxy/stream.hpp"
#include "util/byte_buffer.hpp"

namespace uniqguard::proxy {

class WorkerSessions;

class PgSession final : public Session, public std::enable_shared_from_this<PgSession> {
  public:
    PgSession(tcp::socket client, SharedState& shared, WorkerSessions& worker);
    ~PgSession() override;

    // Runs the whole session; the coroutine holds a shared_ptr to it.
    static asio::awaitable<void> run(std::shared_ptr<PgSession> self);

    // Graceful shutdown: finish the statement in flight, then close with 57P01.
    void begin_drain() override;
    // Shutdown deadline: close both connections now.
    void close_now() override;
    // A reload published new guards: adopted now if no transaction is open, else when it ends.
    void guards_changed() override { refresh_guards(); }
    // Any thread: a CancelRequest carrying this session's key. A write waiting for another
    // session's key ends with 57014 (the server's own cancel reaches only what it runs).
    void cancel_wait() { claim_waiter_->cancel(); }
    // Any thread: whether a write of this session waits in the proxy (nothing of the client's
    // runs on the server then).
    bool in_wait() const { return claim_waiter_->waiting.load(); }

  private:
    enum class PumpEnd { client_closed, server_closed, protocol_error, drained };
    PgSession(tcp::socket client, SharedState& shared, WorkerSessions& worker,
              ReloadableState::Snapshot settings);
    class ServerObserver;

    asio::awaitable<bool> negotiate_startup();
    asio::awaitable<bool> connect_and_authenticate();
    asio::awaitable<PumpEnd> client_to_server();
    // The guard answered `wait` for the next client message: waits (on this session's own
    // executor) until the key is released, the guard's lock_wait_timeout_ms passes, or a
    // CancelRequest comes; false when the session is ending instead.
    asio::awaitable<bool> wait_for_claim();
    // The server said the session's lock_timeout and statement_timeout (0: none): the wait in
    // progress ends at the first (lock_timeout only under a guard whose lock_wait_timeout_ms
    // is 0).
    void apply_client_timeouts(PgGuard::ClientTimeouts limits);
    asio::awaitable<PumpEnd> server_to_client();
    asio::awaitable<void> answer_cancel_request(util::Bytes body);
    asio::awaitable<void> relay_raw_server_bytes();
    asio::awaitable<void> send_to_client(std::string bytes);
    asio::awaitable<void> fatal_to_client(std::string_view sqlstate, std::string_view message,
                                          std::string_view hint = {});
    std::string describe_client() const;
    // Nothing in flight and no transaction block open: the guards may change hands here.
    bool between_transactions() const;
    // Takes the newest published guards if between transactions (guards_changed()).
    void refresh_guards();
    // The pumps run: the guard, if the session has guards, exists from here on.
    void start_guard();
    // Without a guard: keeps the text of named statements for a guard a reload may bring.
    void remember_named_statement(char type, util::Bytes body);

    SharedState& shared_;
    WorkerSessions& worker_;
    // What the session started with (a reload does not change a running session's settings).
    const std::shared_ptr<const config::Config> config_;
    const std::shared_ptr<ssl::context> client_tls_;
    const std::shared_ptr<ssl::context> backend_tls_;
    // The guards in force for this session; replaced between transactions after a reload, so
    // that a transaction ends under the guards it began with. Never null.
    std::shared_ptr<const guard::GuardRegistry> guards_;
    std::uint64_t guards_generation_;
    bool pumping_ = false;
    Stream client_;
    std::unique_ptr<Stream> server_;
    std::string client_address_;

    util::ByteBuffer client_buffer_;  // client bytes, whole messages
    util::ByteBuffer server_buffer_;  // server bytes, streamed
    protocol::postgres::BackendStreamScanner server_scanner_;
    std::vector<asio::const_buffer> client_write_segments_;
    protocol::postgres::QueryCycle cycle_;
    std::string user_;  // from the StartupMessage, for logs
    std::string database_;
    protocol::postgres::CancelKey cancel_key_{};
    bool cancel_key_registered_ = false;
    protocol::postgres::SessionSettings settings_;

    // The guard (null while guards_ is empty: then nothing below is used and the pumps
    // forward every message untouched).
    std::unique_ptr<PgGuard> guard_;
    std::unique_ptr<NamedStatementTexts> named_texts_;  // while guard_ is null
    SessionIdentity identity_;
    protocol::postgres::ReplyTracker tracker_;
    std::string client_rewrites_;  // messages the guard sends instead of the client's
    struct Span {
        bool owned;  // in client_rewrites_, else in client_buffer_
        std::size_t offset;
        std::size_t length;
    };
    std::vector<Span> client_spans_;
    std::string held_;                     // replies held until a check's verdict
    std::list<std::string> server_owned_;  // proxy-made replies in the current client write

    std::string startup_packet_;  // relayed to the server once it is connected
    std::string protocol_error_;  // why the client pump ended with protocol_error

    bool draining_ = false;
    bool stop_client_pump_ = false;        // the server pump has ended
    bool protocol_error_pending_ = false;  // bad client message; 08P01 after owed replies
    bool speaks_protocol_3_ = true;
    bool server_pump_writing_ = false;
    asio::cancellation_signal drain_signal_;
    // Waits for a key another session's transaction holds (PgGuard::Outcome::wait). The deadline
    // is the wait's first start: a wake-up that finds the key held again keeps it.
    const std::shared_ptr<ClaimWaiter> claim_waiter_;
    std::optional<std::chrono::steady_clock::time_point> wait_deadline_;
    // The session's statement_timeout, counted from the wait's start (55P03 is wait_deadline_'s,
    // 57014 this one's); none until the server said it.
    std::chrono::steady_clock::time_point statement_deadline_ =
        std::chrono::steady_clock::time_point::max();
    std::optional<std::chrono::steady_clock::time_point> deadlock_check_at_;  // once per sleep
    bool claim_wait_pending_ = false;  // a message waits (set before its wait starts)
    // An INSERT whose keys come late waits between its two parts (PgGuard::resume_late) for
    // the server's answer to the first: the server pump cancels this timer once it came.
    asio::steady_timer late_answer_;
    // The second part of such an INSERT: once the first is answered, claims its keys (waiting
    // like wait_for_claim) and sends the check. false when the session is ending.
    asio::awaitable<bool> resume_late();
    std::chrono::steady_clock::time_point wait_started_;
};

}  // namespace uniqguard::proxy
