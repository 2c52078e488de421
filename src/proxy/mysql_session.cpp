#include "proxy/mysql_session.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "guard/claim_waits.hpp"
#include "protocol/mysql/auth_relay.hpp"
#include "protocol/mysql/capabilities.hpp"
#include "protocol/mysql/error_codes.hpp"
#include "protocol/mysql/wire.hpp"
#include "protocol/proxy_header.hpp"
#include "proxy/client_certificate.hpp"
#include "proxy/mysql_key_set_loading.hpp"
#include "proxy/upstream.hpp"
#include "proxy/worker_sessions.hpp"
#include "util/gcc12_coroutine_frames.hpp"

namespace uniqguard::proxy {

using namespace asio::experimental::awaitable_operators;
namespace my = protocol::mysql;

namespace {
// Reads are at least this large; a sysbench round trip fits in one.
constexpr std::size_t read_chunk = 16 * 1024;
// Connection-phase packets are small (a HandshakeResponse with attributes: a few KiB; a server's
// RSA public key: under 1 KiB); anything larger is not a MySQL peer.
constexpr std::size_t max_connection_phase_packet = 1 << 20;
constexpr std::uint8_t err_header = 0xFF;
// From the client's connection to the server's OK: MySQL's own connect_timeout is 10 s for the
// handshake; the proxy adds its connection to the server and the TLS handshakes.
constexpr std::chrono::seconds connection_phase_timeout{15};

// The statements the metrics count (worker_metrics.hpp); other commands are not statements.
void count_statement(BatchMeter& meter, std::uint8_t command) {
    switch (static_cast<my::Command>(command)) {
        case my::Command::query:
            meter.statement(StatementKind::query);
            break;
        case my::Command::stmt_prepare:
            meter.statement(StatementKind::prepare);
            break;
        case my::Command::stmt_execute:
            meter.statement(StatementKind::execute);
            break;
        default:
            break;
    }
}

// As in PgSession: client buffers grow with the bytes actually received, not to the announced
// size at once.
std::size_t next_read_size(std::size_t have, std::size_t needed) {
    const std::size_t missing = needed > have ? needed - have : 0;
    if (missing <= read_chunk) return read_chunk;
    return std::min(missing, std::max(have, read_chunk));
}

my::ServerError bad_handshake() {
    return {.code = my::error_code::bad_handshake, .sqlstate = "08S01", .message = "Bad handshake"};
}
// The server could not be reached or spoken to: the code client libraries use for a failed
// connection.
my::ServerError connection_error(std::string message) {
    return {
        .code = my::error_code::cant_connect, .sqlstate = "HY000", .message = std::move(message)};
}
// The status flags of an OK packet (0 when it has none): the login's OK says, before any
// command, whether the session starts with NO_BACKSLASH_ESCAPES.
std::uint16_t ok_packet_status(util::Bytes payload) {
    my::PayloadCursor c(payload);
    c.u8();
    c.lenenc_int();  // affected rows
    c.lenenc_int();  // last insert id
    const std::uint16_t status = c.u16();
    return c.ok() ? status : 0;
}
// The affected-rows count of an OK packet (its head); none for any other packet (an EOF or the
// OK that ends a result set starts with 0xFE).
std::optional<std::uint64_t> ok_packet_affected_rows(util::Bytes head) {
    if (head.empty() || head[0] != 0x00) return std::nullopt;
    my::PayloadCursor c(head);
    c.u8();
    const std::uint64_t affected = c.lenenc_int();
    return c.ok() ? std::optional<std::uint64_t>(affected) : std::nullopt;
}
// GCC 12 destroys some temporaries of a full-expression that contains co_await twice (aggregates
// built in place, strings made for the call): every ServerError and payload below is therefore a
// named local before it is awaited on.
}  // namespace

// Reports each server packet's first bytes to the command tracker.
class MySqlSession::ServerObserver final : public my::PacketObserver {
  public:
    explicit ServerObserver(MySqlSession& s) : s_(s) {}
    void on_packet(std::uint8_t, const my::ServerPacketHead& packet) override {
        // The guard keeps the statement ids of the prepared INSERTs it follows.
        if (s_.guard_ && s_.tracker_->awaiting_prepare_answer())
            s_.guard_->on_prepare_answer(packet.head);
        const auto answered = s_.tracker_->answered();
        s_.tracker_->on_server_packet(packet);
        if (s_.guard_ && s_.tracker_->answered() != answered) {
            // A command's answer ended: its claims may be over with the transaction.
            const auto& h = packet.head;
            const bool error = h.size() >= 3 && h[0] == 0xFF;
            const auto code = error ? static_cast<std::uint16_t>(h[1] | (h[2] << 8)) : 0;
            s_.guard_->on_reply(error, static_cast<std::uint16_t>(code),
                                s_.guard_session().server_status, s_.tracker_->idle(),
                                ok_packet_affected_rows(h));
            auto& kills = s_.pending_kills_;
            while (!kills.empty() && kills.front().command <= s_.tracker_->answered()) {
                if (kills.front().command == s_.tracker_->answered() && !error)
                    s_.shared_.mysql_waits.cancel(kills.front().target);
                kills.erase(kills.begin());
            }
        }
    }

  private:
    MySqlSession& s_;
};

MySqlSession::MySqlSession(tcp::socket client, SharedState& shared, WorkerSessions& worker)
    : MySqlSession(std::move(client), shared, worker, shared.reloadable.current().value) {}

MySqlSession::MySqlSession(tcp::socket client, SharedState& shared, WorkerSessions& worker,
                           Reloadable settings)
    : shared_(shared),
      worker_(worker),
      config_(std::move(settings.config)),
      client_tls_(std::move(settings.client_tls)),
      backend_tls_(std::move(settings.backend_tls)),
      client_(std::move(client)) {
    error_code ec;
    auto ep = client_.socket().remote_endpoint(ec);
    client_address_ = ec ? "unknown" : ep.address().to_string() + ":" + std::to_string(ep.port());
    client_.socket().set_option(tcp::no_delay(true), ec);
    worker_.add(this);
    shared_.connections.current.fetch_add(1, std::memory_order_relaxed);
    shared_.connections.total.fetch_add(1, std::memory_order_relaxed);
}

MySqlSession::~MySqlSession() {
    if (server_connection_id_) shared_.mysql_waits.remove(*server_connection_id_);
    worker_.remove(this);
    shared_.connections.current.fetch_sub(1, std::memory_order_relaxed);
}

std::string MySqlSession::describe_client() const {
    std::string d = client_address_;
    if (!user_.empty()) d += " user=" + user_;
    if (tracker_ && !tracker_->database().empty()) d += " database=" + tracker_->database();
    return d;
}

void MySqlSession::begin_drain() {
    draining_ = true;
    if (tracker_ && tracker_->idle()) drain_signal_.emit(asio::cancellation_type::terminal);
}

void MySqlSession::close_now() {
    stop_client_pump_ = true;
    drain_signal_.emit(asio::cancellation_type::terminal);
    client_.close();
    if (server_) server_->close();
}

asio::awaitable<bool> MySqlSession::send_packet(Stream& stream, std::uint8_t sequence,
                                                util::Bytes payload) {
    std::string wire;
    my::append_packet(wire, sequence, payload);
    auto [ec, n] = co_await stream.async_write(asio::buffer(wire), use_tuple);
    co_return !ec;
}

asio::awaitable<void> MySqlSession::error_to_client(std::uint8_t sequence,
                                                    const my::ServerError& error) {
    const std::string payload = my::err_payload(error);
    co_await send_packet(client_, sequence, util::as_bytes(payload));
}

asio::awaitable<std::optional<MySqlSession::WholePacket>> MySqlSession::read_whole_packet(
    Stream& stream, util::ByteBuffer& buffer, std::size_t max_payload, bool exact) {
    for (;;) {
        auto r = my::read_packet(buffer.readable(), max_payload);
        if (r.status == my::PacketStatus::error) co_return std::nullopt;
        if (r.status == my::PacketStatus::complete) {
            WholePacket p{.first_sequence = r.packet.first_sequence,
                          .last_sequence = r.packet.last_sequence,
                          .payload = r.packet.frames == 1
                                         ? std::string(util::as_chars(r.packet.first_payload))
                                         : my::join_payload(r.packet)};
            buffer.consume(r.packet.wire_size);
            co_return p;
        }
        const std::size_t want =
            exact ? r.needed - buffer.size() : next_read_size(buffer.size(), r.needed);
        auto space = buffer.writable(want);
        auto [ec, n] = co_await stream.async_read_some(asio::buffer(space.data(), want), use_tuple);
        if (ec) co_return std::nullopt;
        buffer.commit(n);
    }
}

asio::awaitable<void> MySqlSession::run(std::shared_ptr<MySqlSession> self) {
    try {
        if (self->shared_.shutting_down) {
            // Accepted just before the listener closed: answer as a stopping server does.
            const my::ServerError shutdown{.code = my::error_code::server_shutdown,
                                           .sqlstate = "08S01",
                                           .message = "Server shutdown in progress"};
            co_await self->error_to_client(0, shutdown);
        } else if (co_await self->connect_and_authenticate_in_time()) {
            spdlog::debug("session {}: ready", self->describe_client());
            auto outcome = co_await (self->client_to_server() || self->server_to_client());
            const PumpEnd end = std::visit([](PumpEnd e) { return e; }, outcome);
            if (end == PumpEnd::drained) {
                // COM_QUIT, so the server ends the session as a client leaving does; the client
                // sees its connection closed, as when the server shuts down.
                const std::uint8_t quit = static_cast<std::uint8_t>(my::Command::quit);
                const util::Bytes quit_payload{&quit, 1};
                co_await self->send_packet(*self->server_, 0, quit_payload);
            } else if (end == PumpEnd::protocol_error && self->protocol_error_ &&
                       !self->server_pump_writing_) {
                // Half of a server packet may be on the wire if the other pump was cut off
                // mid-write; then the only honest answer is to close.
                co_await self->error_to_client(self->protocol_error_sequence_,
                                               *self->protocol_error_);
            }
            spdlog::debug("session {}: closed ({})", self->describe_client(),
                          end == PumpEnd::client_closed   ? "client closed"
                          : end == PumpEnd::server_closed ? "server closed"
                          : end == PumpEnd::drained       ? "shutdown"
                                                          : "protocol error");
        }
    } catch (const std::exception& e) {
        spdlog::error("session {}: {}", self->describe_client(), e.what());
    }
    self->client_.close();
    if (self->server_) self->server_->close();
}

asio::awaitable<bool> MySqlSession::connect_and_authenticate_in_time() {
    // The server connection opens before the client has said anything: a client that connects
    // and never logs in must not hold it (and its own socket) forever. The server gives up on
    // such a client after its connect_timeout (10 s by default) and closes without a word; the
    // proxy, which is waiting for the client then, closes both at its own deadline.
    asio::steady_timer deadline(co_await asio::this_coro::executor, connection_phase_timeout);
    auto outcome = co_await (connect_and_authenticate() || deadline.async_wait(use_tuple));
    if (outcome.index() == 0) co_return std::get<0>(outcome);
    spdlog::info("session {}: no login within {} s; closed", describe_client(),
                 connection_phase_timeout.count());
    co_return false;
}

asio::awaitable<bool> MySqlSession::connect_and_authenticate() {
    const auto& backend = config_->backend;
    const std::string where = backend.address.to_string();
    auto executor = co_await asio::this_coro::executor;
    server_ = std::make_unique<Stream>(tcp::socket(executor));
    if (auto err = co_await connect_tcp_with_deadline(server_->socket(), backend.address);
        !err.empty()) {
        spdlog::warn("session {}: could not connect to the database server at {}: {}",
                     describe_client(), where, err);
        // In place of the handshake, as a server refusing a connection does; client libraries
        // report it as a failed connection.
        const auto error =
            connection_error("Can't connect to server on '" + where + "' (uniqguard: " + err + ")");
        co_await error_to_client(0, error);
        co_return false;
    }

    if (config_->listen.proxy_protocol != config::ProxyProtocol::off &&
        !co_await send_proxy_header())
        co_return false;

    // The server's handshake, relayed with the capabilities the proxy handles.
    auto greeting =
        co_await read_whole_packet(*server_, server_buffer_, max_connection_phase_packet);
    if (!greeting) {
        spdlog::warn("session {}: the server at {} closed or sent no handshake", describe_client(),
                     where);
        const auto error = connection_error("Lost connection to server at '" + where +
                                            "' (uniqguard: no handshake)");
        co_await error_to_client(0, error);
        co_return false;
    }
    const auto greeting_bytes = util::as_bytes(greeting->payload);
    if (!greeting->payload.empty() && greeting_bytes[0] == err_header) {
        // The server refuses (too many connections, host blocked): the client sees its words.
        co_await send_packet(client_, greeting->first_sequence, greeting_bytes);
        co_return false;
    }
    auto handshake = my::decode_server_handshake(greeting_bytes);
    if (!handshake) {
        spdlog::warn("session {}: the server at {} does not speak protocol 10", describe_client(),
                     where);
        const auto error = bad_handshake();
        co_await error_to_client(0, error);
        co_return false;
    }
    flavour_ = handshake->flavour;
    const std::uint64_t offered =
        my::capabilities_offered_to_client(handshake->capabilities, client_tls_ != nullptr);
    const std::string offer = my::rewrite_server_handshake(greeting_bytes, *handshake, offered);
    if (!co_await send_packet(client_, greeting->first_sequence, util::as_bytes(offer)))
        co_return false;

    // The client's SSLRequest (then TLS) and HandshakeResponse. A client starts its TLS
    // handshake right after the SSLRequest, without an answer to wait for, so the SSLRequest is
    // read exactly: the ClientHello behind it must stay in the socket for OpenSSL.
    auto answer =
        co_await read_whole_packet(client_, client_buffer_, max_connection_phase_packet, true);
    if (!answer) co_return false;
    auto response = my::decode_client_handshake(util::as_bytes(answer->payload));
    if (response && response->ssl_request) {
        if (!client_tls_ || client_.is_tls()) {
            const auto error = bad_handshake();
            co_await error_to_client(answer->last_sequence + 1, error);
            co_return false;
        }
        if (auto ec = co_await client_.handshake_as_server(*client_tls_)) {
            spdlog::info("session {}: TLS handshake failed: {}", client_address_, ec.message());
            co_return false;
        }
        answer = co_await read_whole_packet(client_, client_buffer_, max_connection_phase_packet);
        if (!answer) co_return false;
        response = my::decode_client_handshake(util::as_bytes(answer->payload));
        if (response && response->ssl_request) response.reset();
    }
    if (!response) {
        spdlog::info("session {}: malformed HandshakeResponse", client_address_);
        const auto error = bad_handshake();
        co_await error_to_client(answer->last_sequence + 1, error);
        co_return false;
    }
    user_ = response->user;

    // The server leg's TLS, as backend.tls says, whatever the client leg does.
    const bool server_offers_tls = (handshake->capabilities & my::capability::ssl) != 0;
    const bool server_tls = backend.tls != config::BackendTls::disable && server_offers_tls;
    if (!server_offers_tls && (backend.tls == config::BackendTls::require ||
                               backend.tls == config::BackendTls::verify_full)) {
        spdlog::warn("session {}: the server at {} does not offer TLS, but backend.tls requires it",
                     describe_client(), where);
        const auto error = connection_error("uniqguard: the database server at " + where +
                                            " does not support SSL, but backend.tls requires it");
        co_await error_to_client(answer->last_sequence + 1, error);
        co_return false;
    }
    const std::uint64_t to_server =
        my::capabilities_sent_to_server(response->capabilities, offered, server_tls);
    const std::string rewritten =
        my::rewrite_client_handshake(util::as_bytes(answer->payload), *response, to_server);
    std::uint8_t server_sequence = greeting->last_sequence + 1;
    if (server_tls) {
        const std::string request = my::ssl_request_from(util::as_bytes(rewritten));
        if (!co_await send_packet(*server_, server_sequence++, util::as_bytes(request)))
            co_return false;
        const std::string verify_host =
            backend.tls == config::BackendTls::verify_full ? backend.address.host : std::string{};
        if (auto ec = co_await server_->handshake_as_client(*backend_tls_, verify_host)) {
            spdlog::warn("session {}: TLS handshake with the server at {} failed: {}",
                         describe_client(), where, ec.message());
            const auto error =
                connection_error("uniqguard: SSL handshake with the database server at " + where +
                                 " failed: " + ec.message());
            co_await error_to_client(answer->last_sequence + 1, error);
            co_return false;
        }
    }
    if (!co_await send_packet(*server_, server_sequence++, util::as_bytes(rewritten)))
        co_return false;
    const bool ok = co_await relay_authentication(*handshake, *response, answer->last_sequence + 1,
                                                  server_sequence);
    if (ok) {
        tracker_.emplace(to_server);
        tracker_->set_database(response->database);
        server_capabilities_ = to_server;
        auto guards = shared_.reloadable.current().value.guards;
        if (!guards->empty()) {
            // Guards change only at a restart on MySQL (config_reload refuses otherwise): the
            // registry of the session's start is the one in force.
            // The global sql_mode new sessions start with, as the key-set loader read it (not
            // yet read: MariaDB's default, which quotes as the server's own default does; the
            // server's NO_BACKSLASH_ESCAPES flag is compared before each guarded INSERT).
            const auto dialect = sql::dialect_for_server(handshake->server_version);
            settings_.emplace(response->character_set, dialect.value_or(sql::MySqlDialect{}),
                              mysql_global_sql_mode());
            // Only a guarded session can wait: an unguarded one holds no waiter (idle memory).
            claim_waiter_ = std::make_shared<ClaimWaiter>(client_.socket().get_executor());
            guard_ = std::make_unique<MySqlGuard>(std::move(guards), shared_.duplicates.get(),
                                                  config_->backend.database, claim_waiter_);
            server_connection_id_ = handshake->connection_id;
            shared_.mysql_waits.add(*server_connection_id_, claim_waiter_);
        }
    }
    co_return ok;
}

asio::awaitable<bool> MySqlSession::send_proxy_header() {
    // Before anything else on the connection: MariaDB reads it ahead of the client's first
    // packet (proxy_protocol_networks), so accounts bound to the client's host still match.
    error_code ec;
    const auto source = client_.socket().remote_endpoint(ec);
    const auto destination = ec ? tcp::endpoint{} : client_.socket().local_endpoint(ec);
    if (ec) co_return false;  // the client is already gone
    std::string header;
    if (config_->listen.proxy_protocol == config::ProxyProtocol::v2) {
        // One family for both: the client's socket has one (IPv4 clients of an IPv6 listener
        // come as v4-mapped IPv6 addresses on both ends).
        if (source.address().is_v6()) {
            const auto s = source.address().to_v6().to_bytes();
            const auto d = destination.address().to_v6().to_bytes();
            header = protocol::proxy_v2_header(s, d, source.port(), destination.port());
        } else {
            const auto s = source.address().to_v4().to_bytes();
            const auto d = destination.address().to_v4().to_bytes();
            header = protocol::proxy_v2_header(s, d, source.port(), destination.port());
        }
    } else {
        header = protocol::proxy_v1_header(source.address().is_v6(), source.address().to_string(),
                                           destination.address().to_string(), source.port(),
                                           destination.port());
    }
    auto [wec, n] = co_await server_->async_write(asio::buffer(header), use_tuple);
    co_return !wec;
}

asio::awaitable<bool> MySqlSession::relay_authentication(const my::ServerHandshake& handshake,
                                                         const my::ClientHandshake& response,
                                                         std::uint8_t client_sequence,
                                                         std::uint8_t server_sequence) {
    my::AuthRelay relay(response.auth_plugin.empty() ? handshake.auth_plugin : response.auth_plugin,
                        handshake.scramble, client_.is_tls(), server_->is_tls());
    for (;;) {
        auto packet =
            co_await read_whole_packet(*server_, server_buffer_, max_connection_phase_packet);
        if (!packet) {
            spdlog::info("session {}: the server closed during authentication", describe_client());
            co_return false;
        }
        server_sequence = packet->last_sequence + 1;
        auto step = relay.on_server_packet(util::as_bytes(packet->payload));
        using K = my::AuthStepKind;
        if (step.kind == K::refuse) {
            spdlog::info("session {}: {}", describe_client(), step.error.message);
            co_await error_to_client(client_sequence, step.error);
            co_return false;
        }
        if (step.kind == K::send_to_server) {
            if (!co_await send_packet(*server_, server_sequence++, util::as_bytes(step.payload)))
                co_return false;
            continue;
        }
        if (step.kind == K::failed) {
            auto explained = explain_mysql_client_certificate_refusal(
                util::as_bytes(packet->payload),
                client_presented_certificate(client_.native_ssl()));
            spdlog::info("session {}: the server refused the login{}", describe_client(),
                         explained ? " (the client presented a TLS certificate, which cannot reach "
                                     "the server)"
                                   : "");
            if (explained) packet->payload = std::move(*explained);
            co_await send_packet(client_, client_sequence, util::as_bytes(packet->payload));
            co_return false;
        }
        // Every other step relays the server's packet, numbered for the client's leg.
        if (!co_await send_packet(client_, client_sequence++, util::as_bytes(packet->payload)))
            co_return false;
        if (step.kind == K::authenticated) {
            login_status_ = ok_packet_status(util::as_bytes(packet->payload));
            co_return true;
        }
        if (step.kind == K::forward_to_client) continue;

        // forward_then_read_client: the client's answer.
        auto reply =
            co_await read_whole_packet(client_, client_buffer_, max_connection_phase_packet);
        if (!reply) co_return false;
        client_sequence = reply->last_sequence + 1;
        auto next = relay.on_client_packet(util::as_bytes(reply->payload));
        const auto& payload = next.kind == K::send_to_server ? next.payload : reply->payload;
        if (!co_await send_packet(*server_, server_sequence++, util::as_bytes(payload)))
            co_return false;
    }
}

asio::awaitable<MySqlSession::PumpEnd> MySqlSession::client_to_server() {
    const std::uint64_t max_message = config_->listen.max_message_bytes;
    for (;;) {
        // Forward every whole packet already buffered, in one write.
        std::size_t forward = 0;
        bool quit = false;
        std::optional<MySqlGuard::Step> guarded;  // the command after the forwarded ones
        std::size_t guarded_size = 0;
        my::PacketResult r;
        BatchMeter meter(worker_.metrics());
        for (;;) {
            const auto unread = client_buffer_.readable().subspan(forward);
            r = my::read_packet(unread, max_message);
            if (r.status != my::PacketStatus::complete) break;
            const auto& packet = r.packet;
            if (packet.first_sequence != 0 && !tracker_->client_owes_packets()) {
                // A command starts a new exchange at sequence id 0; the server would answer
                // this with "Got packets out of order" and close.
                r.status = my::PacketStatus::error;
                r.error = my::PacketError::out_of_order;
                break;
            }
            if (guard_ && !tracker_->client_owes_packets() && !packet.first_payload.empty()) {
                // A command: the guard looks at it before the tracker counts it as sent.
                const std::string joined =
                    packet.frames == 1 ? std::string() : my::join_payload(packet);
                const std::string_view payload =
                    packet.frames == 1 ? util::as_chars(packet.first_payload) : joined;
                if (packet.first_payload[0] == static_cast<std::uint8_t>(my::Command::query))
                    if (auto target = mysql_kill_query_target(payload.substr(1)))
                        // The server answers this KILL as it would anyway; once it accepts it,
                        // a statement of that session waiting in the proxy ends (1317). It is
                        // the next command the tracker counts (a KILL is never held back).
                        pending_kills_.push_back({tracker_->sent() + 1, *target});
                auto step = guard_->on_command(payload, *settings_, guard_session());
                // A wait's deadline holds until the command is decided otherwise (a check may
                // still end in a wait: an UPDATE of part of a key claims after it).
                if (step.kind != MySqlGuard::Step::Kind::wait &&
                    step.kind != MySqlGuard::Step::Kind::check)
                    clear_wait_deadlines();
                if (step.kind != MySqlGuard::Step::Kind::forward) {
                    count_statement(meter, packet.first_payload[0]);
                    guarded = std::move(step);
                    guarded_size = packet.wire_size;
                    break;
                }
            }
            const auto role = track_client_packet(packet.first_payload);
            if (role == my::ClientPacketRole::command && !packet.first_payload.empty())
                count_statement(meter, packet.first_payload[0]);
            forward += packet.wire_size;
            if (role == my::ClientPacketRole::command_no_reply && !packet.first_payload.empty() &&
                packet.first_payload[0] == static_cast<std::uint8_t>(my::Command::quit)) {
                quit = true;
                break;
            }
        }
        meter.done();
        if (forward > 0) {
            const auto bytes = client_buffer_.readable().first(forward);
            error_code ec;
            const std::size_t done = server_->write_now(to_buffer(bytes), ec);
            if (done < bytes.size()) {
                if (ec && ec != asio::error::would_block) co_return PumpEnd::server_closed;
                std::tie(ec, std::ignore) =
                    co_await server_->async_write(to_buffer(bytes.subspan(done)), use_tuple);
                if (ec) co_return PumpEnd::server_closed;
            }
            client_buffer_.consume(forward);
        }
        if (guarded) {
            auto end = co_await guarded_command(*guarded, guarded_size);
            if (end) co_return *end;
            continue;  // more packets may be buffered behind it
        }
        if (quit) co_return PumpEnd::client_closed;
        if (r.status == my::PacketStatus::error) {
            const auto unread = client_buffer_.readable();
            protocol_error_sequence_ =
                static_cast<std::uint8_t>((unread.size() >= 4 ? unread[3] : 0) + 1);
            if (r.error == my::PacketError::too_large) {
                spdlog::warn(
                    "session {}: packet of {} bytes or more exceeds "
                    "listen.max_message_bytes ({})",
                    describe_client(), r.announced_bytes, max_message);
                protocol_error_ = my::ServerError{
                    .code = my::error_code::net_packet_too_large,
                    .sqlstate = "08S01",
                    .message = "Got a packet bigger than 'max_allowed_packet' bytes"};
            } else {
                spdlog::warn("session {}: packets out of order", describe_client());
                protocol_error_ = my::ServerError{.code = my::error_code::net_packets_out_of_order,
                                                  .sqlstate = "08S01",
                                                  .message = "Got packets out of order"};
            }
            if (!tracker_->idle()) {
                // The server still owes replies to what was forwarded before the bad packet:
                // the client gets them first; the server pump ends once they are through.
                protocol_error_pending_ = true;
                if (stop_client_pump_) co_return PumpEnd::server_closed;
                asio::steady_timer parked(co_await asio::this_coro::executor,
                                          asio::steady_timer::time_point::max());
                co_await parked.async_wait(
                    asio::bind_cancellation_slot(drain_signal_.slot(), use_tuple));
                co_return PumpEnd::server_closed;
            }
            co_return PumpEnd::protocol_error;
        }
        const bool idle_client = client_buffer_.empty();
        if (idle_client) {
            // Hold no heap buffer while the client thinks; wake for its bytes, for a graceful
            // shutdown once nothing is in flight, or when the other pump has ended.
            client_buffer_.release_if_empty();
            if (stop_client_pump_) co_return PumpEnd::server_closed;
            if (draining_ && tracker_->idle()) co_return PumpEnd::drained;
            if (!client_.is_tls()) {
                // The next packet lands in the buffer's inline room, read by the reactor as
                // soon as it arrives (util/byte_buffer.hpp says why this beats a readiness wait).
                auto room = client_buffer_.writable(1);
                auto [ec, n] = co_await client_.async_read_some(
                    asio::buffer(room),
                    asio::bind_cancellation_slot(drain_signal_.slot(), use_tuple));
                if (stop_client_pump_) co_return PumpEnd::server_closed;
                if (ec) co_return draining_ ? PumpEnd::drained : PumpEnd::client_closed;
                client_buffer_.commit(n);
                continue;
            }
        }
        auto space = client_buffer_.writable(next_read_size(client_buffer_.size(), r.needed));
        error_code ec;
        std::size_t n = client_.read_now(asio::buffer(space), ec);
        if (ec != asio::error::would_block) {
            // Read at once (the usual case after the readiness wait), or the client is gone.
        } else if (idle_client && client_.is_tls()) {
            std::tie(ec, n) = co_await client_.async_read_some(
                asio::buffer(space), asio::bind_cancellation_slot(drain_signal_.slot(), use_tuple));
        } else {
            std::tie(ec, n) = co_await client_.async_read_some(asio::buffer(space), use_tuple);
        }
        if (stop_client_pump_) co_return PumpEnd::server_closed;
        if (ec)
            co_return draining_&& ec == asio::error::operation_aborted ? PumpEnd::drained
                                                                       : PumpEnd::client_closed;
        client_buffer_.commit(n);
    }
}

asio::awaitable<MySqlSession::PumpEnd> MySqlSession::server_to_client() {
    ServerObserver observer(*this);
    PumpEnd end = PumpEnd::server_closed;
    bool streaming = false;  // the last read filled its room
    for (;;) {
        if (tracker_->idle()) server_buffer_.release_if_empty();
        if (server_buffer_.empty()) {
            // A reply lands in the buffer's inline room; once a read fills its room, a large
            // result is streaming and the reads take 16 KiB. Either way the reactor reads as
            // soon as bytes arrive.
            auto space = server_buffer_.writable(streaming ? read_chunk : 1);
            auto [ec, n] = co_await server_->async_read_some(asio::buffer(space), use_tuple);
            if (ec) break;
            streaming = n == space.size();
            server_buffer_.commit(n);
        }
        const auto chunk = server_buffer_.readable();
        if (own_reply_ && !own_reply_done_) {
            // The reply to the proxy's own query: nothing was owed to the client when it went
            // out, so every byte until its end is the proxy's.
            own_reply_bytes_.append(util::as_chars(chunk));
            server_buffer_.consume(chunk.size());
            own_reply_bytes_.erase(0, own_reply_->feed(util::as_bytes(own_reply_bytes_)));
            if (own_reply_->status() != my::ValueReplyReader::Status::need_more) {
                own_reply_done_ = true;
                wake_client();
            }
            continue;
        }
        server_scanner_.feed(chunk, observer);
        if (tracker_->broken() && !tracker_broken_logged_) {
            tracker_broken_logged_ = true;
            spdlog::warn(
                "session {}: a server reply did not have the expected shape; command "
                "boundaries may be wrong from here on",
                describe_client());
        }
        error_code ec;
        const std::size_t done = client_.write_now(to_buffer(chunk), ec);
        if (ec && ec != asio::error::would_block) {
            end = PumpEnd::client_closed;
            break;
        }
        if (done < chunk.size()) {
            // The client's socket buffer is full: wait for it (backpressure: nothing more is
            // read from the server meanwhile).
            server_pump_writing_ = true;
            std::tie(ec, std::ignore) =
                co_await client_.async_write(to_buffer(chunk.subspan(done)), use_tuple);
            server_pump_writing_ = false;
            if (ec) {
                end = PumpEnd::client_closed;
                break;
            }
        }
        server_buffer_.consume(chunk.size());
        wake_client();  // it may wait for the replies owed to end (a check goes out then)
        if (protocol_error_pending_ && tracker_->idle()) {
            end = PumpEnd::protocol_error;
            break;  // run() sends the ERR: nothing of ours is mid-write now
        }
        if (draining_ && tracker_->idle() && !own_reply_) {
            end = PumpEnd::drained;
            break;
        }
    }
    wake_client();
    // Wake the client pump, which may be waiting for a client that has nothing to say.
    stop_client_pump_ = true;
    drain_signal_.emit(asio::cancellation_type::terminal);
    co_return end;
}

MySqlGuardSession MySqlSession::guard_session() const {
    return {.client_address = client_address_,
            .user = user_,
            .database = tracker_->database(),
            .server_status = tracker_->status() != 0 ? tracker_->status() : login_status_,
            .status_seen = tracker_->status() != 0 || login_status_ != 0,
            .mariadb = flavour_ == protocol::mysql::Flavour::mariadb};
}

asio::awaitable<bool> MySqlSession::wait_until_idle() {
    asio::steady_timer wait(co_await asio::this_coro::executor,
                            asio::steady_timer::time_point::max());
    client_wait_ = &wait;
    // Both pumps run on this thread: the condition cannot change between its test and the wait.
    while (!tracker_->idle() && !stop_client_pump_) {
        co_await wait.async_wait(use_tuple);
        wait.expires_at(asio::steady_timer::time_point::max());
    }
    client_wait_ = nullptr;
    co_return !stop_client_pump_;
}

asio::awaitable<std::optional<MySqlSession::PumpEnd>> MySqlSession::run_check(
    const std::string& sql) {
    std::string payload(1, static_cast<char>(my::Command::query));
    payload += sql;
    co_return co_await run_own_command(payload);
}

asio::awaitable<std::optional<MySqlSession::PumpEnd>> MySqlSession::run_own_command(
    const std::string& payload) {
    own_reply_.emplace((server_capabilities_ & my::capability::deprecate_eof) != 0);
    own_reply_bytes_.clear();
    own_reply_done_ = false;
    std::string wire;
    my::append_packet(wire, 0, util::as_bytes(payload));
    auto [ec, n] = co_await server_->async_write(asio::buffer(wire), use_tuple);
    if (ec) co_return PumpEnd::server_closed;
    asio::steady_timer wait(co_await asio::this_coro::executor,
                            asio::steady_timer::time_point::max());
    client_wait_ = &wait;
    while (!own_reply_done_ && !stop_client_pump_) {
        co_await wait.async_wait(use_tuple);
        wait.expires_at(asio::steady_timer::time_point::max());
    }
    client_wait_ = nullptr;
    if (!own_reply_done_) co_return PumpEnd::server_closed;
    co_return std::nullopt;
}

my::ClientPacketRole MySqlSession::track_client_packet(util::Bytes payload) {
    const auto role = tracker_->on_client_packet(payload);
    if (guard_ && role == my::ClientPacketRole::command) guard_->on_command_sent();
    return role;
}

namespace {
// "50" or "0.300000" (seconds) as milliseconds; nullopt when it is not a number of that form.
std::optional<std::chrono::milliseconds> seconds_text(std::string_view v) {
    const auto dot = v.find('.');
    const std::string_view whole = v.substr(0, dot);
    std::string_view fraction = dot == std::string_view::npos ? "" : v.substr(dot + 1);
    if (whole.empty() || whole.size() > 10) return std::nullopt;
    std::uint64_t ms = 0;
    for (char c : whole) {
        if (c < '0' || c > '9') return std::nullopt;
        ms = ms * 10 + static_cast<std::uint64_t>(c - '0');
    }
    ms *= 1000;
    std::uint64_t scale = 100;
    bool below_a_millisecond = false;
    for (char c : fraction) {
        if (c < '0' || c > '9') return std::nullopt;
        ms += scale * static_cast<std::uint64_t>(c - '0');
        below_a_millisecond = below_a_millisecond || (scale == 0 && c != '0');
        scale /= 10;
    }
    // Rounded up: 0.0004 s is a limit, not "none" (0).
    if (below_a_millisecond) ++ms;
    return std::chrono::milliseconds(ms);
}
}  // namespace

asio::awaitable<MySqlSession::ServerTimeouts> MySqlSession::server_timeouts() {
    // InnoDB's default, if the server cannot say.
    ServerTimeouts limits{.lock_wait = std::chrono::seconds(50),
                          .statement = std::chrono::milliseconds(0)};
    if (!co_await wait_until_idle()) co_return limits;
    // `/*M! … */` is read by MariaDB only: MySQL has no max_statement_time.
    if (co_await run_check(
            "SELECT CONCAT(@@innodb_lock_wait_timeout /*M!, ',', @@max_statement_time */)"))
        co_return limits;
    if (own_reply_->status() == my::ValueReplyReader::Status::done && !own_reply_->failed() &&
        own_reply_->value()) {
        // Whole seconds (MariaDB 10.11 and MySQL 8 keep innodb_lock_wait_timeout an integer);
        // max_statement_time with six decimals.
        const std::string_view v = *own_reply_->value();
        const auto comma = v.find(',');
        if (auto lock = seconds_text(v.substr(0, comma)); lock && lock->count() % 1000 == 0)
            limits.lock_wait = *lock;
        if (comma != std::string_view::npos)
            if (auto statement = seconds_text(v.substr(comma + 1))) limits.statement = *statement;
    }
    own_reply_.reset();
    own_reply_bytes_.clear();
    co_return limits;
}

asio::awaitable<std::optional<MySqlSession::PumpEnd>> MySqlSession::wait_for_claim() {
    // How often a long wait looks again for a cycle: the holder of a key may change while it
    // waits (released, then taken by another session that may itself wait for this one).
    constexpr auto recheck = std::chrono::seconds(1);
    auto& w = *claim_waiter_;
    guard::GuardState* g = guard_->waiting_for();
    if (!wait_deadline_) {
        // 0: as the server, the session's own innodb_lock_wait_timeout.
        auto limit = g ? g->config().lock_wait_timeout : std::chrono::milliseconds(0);
        const auto server = co_await server_timeouts();
        if (stop_client_pump_) co_return PumpEnd::server_closed;
        if (limit.count() == 0) limit = server.lock_wait;
        const auto now = std::chrono::steady_clock::now();
        wait_deadline_ = now + limit;
        // From the wait's start: the server counts from the statement's, which the proxy
        // held back until now.
        statement_deadline_ = server.statement.count() > 0
                                  ? now + server.statement
                                  : std::chrono::steady_clock::time_point::max();
        if (g) g->counters().waits.fetch_add(1, std::memory_order_relaxed);
    }
    auto& waits = guard::ClaimWaits::process();
    const auto owner = guard_->session_claims().owner();
    const auto& wanted = guard_->session_claims().wanted();
    if (wanted.table) waits.waiting(owner, *wanted.table, wanted.fp);
    // InnoDB looks for a cycle as a lock wait begins: so does the proxy, and the session that
    // closes the cycle is the one that fails (1213), its transaction rolled back.
    bool deadlocked = !w.woken && !w.cancelled && waits.leave_if_in_cycle(owner);
    if (!deadlocked && !w.woken && !w.cancelled) {
        if (g) g->counters().waiting.fetch_add(1, std::memory_order_relaxed);
        w.timer.expires_at(std::min(
            {*wait_deadline_, statement_deadline_, std::chrono::steady_clock::now() + recheck}));
        co_await w.timer.async_wait(asio::bind_cancellation_slot(drain_signal_.slot(), use_tuple));
        if (g) g->counters().waiting.fetch_sub(1, std::memory_order_relaxed);
        deadlocked = !w.woken && !w.cancelled && waits.leave_if_in_cycle(owner);
    }
    waits.done(owner);
    w.waiting = false;
    if (stop_client_pump_) co_return PumpEnd::server_closed;
    if (w.cancelled) {
        guard_->end_wait(
            {my::error_code::query_interrupted, "70100", "Query execution was interrupted", false});
    } else if (deadlocked) {
        guard_->end_wait({my::error_code::lock_deadlock, "40001",
                          "Deadlock found when trying to get lock; try restarting transaction",
                          true});
    } else if (const auto now = std::chrono::steady_clock::now();
               !w.woken && now >= statement_deadline_ && statement_deadline_ <= *wait_deadline_) {
        guard_->end_wait({my::error_code::statement_timeout, "70100",
                          "Query execution was interrupted (max_statement_time exceeded)", false});
    } else if (!w.woken && now >= *wait_deadline_) {
        guard_->end_wait({my::error_code::lock_wait_timeout, "HY000",
                          "Lock wait timeout exceeded; try restarting transaction", false});
    }
    // Else woken (the key was released), or only time to look for a cycle again: the command is
    // decided again, and waits again if the key is held again.
    w.woken = false;
    w.cancelled = false;
    co_return std::nullopt;
}

asio::awaitable<std::optional<MySqlSession::PumpEnd>> MySqlSession::guarded_command(
    MySqlGuard::Step& step, std::size_t wire_size) {
    if (step.kind == MySqlGuard::Step::Kind::defer) {
        // Decided again once the server has answered what was sent before it.
        if (tracker_->idle()) {
            // Nothing is owed, so no answer can change the decision: never loop on it.
            spdlog::warn("session {}: a deferred command found nothing to wait for",
                         describe_client());
            guard_->forget_unanswered_prepares();
        } else if (!co_await wait_until_idle()) {
            co_return PumpEnd::server_closed;
        }
        co_return std::nullopt;
    }
    if (step.kind == MySqlGuard::Step::Kind::wait) co_return co_await wait_for_claim();
    while (step.kind == MySqlGuard::Step::Kind::check) {
        // The check runs in the client's own session (its uncommitted rows count), once every
        // reply owed to the client is through, so its reply is the next thing the server sends.
        // Its reply may ask again (an UPDATE of part of a key, once its new keys are claimed).
        if (!co_await wait_until_idle()) co_return PumpEnd::server_closed;
        if (auto end = co_await run_check(step.sql)) co_return end;
        step = guard_->on_check_reply(*own_reply_);
        own_reply_.reset();
        own_reply_bytes_.clear();
        if (step.kind == MySqlGuard::Step::Kind::wait) co_return co_await wait_for_claim();
        if (step.kind != MySqlGuard::Step::Kind::check) clear_wait_deadlines();
    }
    for (const auto& before : step.before) {
        // A command of the proxy's own before the step (ROLLBACK of a deadlock's victim;
        // COM_STMT_RESET of an execute the proxy answers itself, so that the server spends its
        // long data as that execute would have): its reply is the proxy's.
        if (!co_await wait_until_idle()) co_return PumpEnd::server_closed;
        if (auto end = co_await run_own_command(before)) co_return end;
        if (own_reply_->status() != my::ValueReplyReader::Status::done || own_reply_->failed())
            spdlog::warn("session {}: the proxy's own command before a guarded one failed: {}",
                         describe_client(), own_reply_->error_message());
        own_reply_.reset();
        own_reply_bytes_.clear();
    }
    std::string replacement;
    util::Bytes out = client_buffer_.readable().first(wire_size);
    if (step.kind == MySqlGuard::Step::Kind::forward) {
        // The client's own packet, as it came.
        const auto r = my::read_packet(out, config_->listen.max_message_bytes);
        track_client_packet(r.packet.first_payload);
    } else if (step.kind == MySqlGuard::Step::Kind::rewrite) {
        // The client's command, rewritten (an execute given the types the server lacks), with
        // its sequence id (0).
        my::append_packet(replacement, 0, util::as_bytes(step.sql));
        track_client_packet(util::as_bytes(step.sql));
        out = util::as_bytes(replacement);
    } else {
        // A COM_QUERY in its place, with the client's sequence id (0): the server's answer (an
        // ERR) is numbered as the client expects, and its transaction goes on as after any
        // failed statement.
        std::string payload(1, static_cast<char>(my::Command::query));
        payload += step.sql;
        my::append_packet(replacement, 0, util::as_bytes(payload));
        track_client_packet(util::as_bytes(payload));
        out = util::as_bytes(replacement);
    }
    auto [ec, n] = co_await server_->async_write(to_buffer(out), use_tuple);
    if (ec) co_return PumpEnd::server_closed;
    client_buffer_.consume(wire_size);
    co_return std::nullopt;
}

}  // namespace uniqguard::proxy
