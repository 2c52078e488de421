#include "proxy/pg_session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include "guard/claim_waits.hpp"
#include "protocol/postgres/auth.hpp"
#include "protocol/postgres/command_tag.hpp"
#include "protocol/postgres/frame_reader.hpp"
#include "protocol/postgres/message_codes.hpp"
#include "protocol/postgres/row_last_column.hpp"
#include "proxy/client_certificate.hpp"
#include "proxy/pg_refusal.hpp"
#include "proxy/pg_scram_terminate.hpp"
#include "proxy/upstream.hpp"
#include "proxy/worker_sessions.hpp"
#include "util/gcc12_coroutine_frames.hpp"

namespace uniqguard::proxy {

using namespace asio::experimental::awaitable_operators;
namespace pg = protocol::postgres;

namespace {
// Reads are at least this large; a pgbench round trip fits in one.
constexpr std::size_t read_chunk = 16 * 1024;
// Authentication-phase messages are small; anything larger is not a PostgreSQL server.
constexpr std::uint64_t max_auth_message = 1 << 20;

// Client buffers grow geometrically toward the announced size rather than to it at once, so a
// client that announces a large message but sends slowly holds memory in step with its bytes.
std::size_t next_read_size(std::size_t have, std::size_t needed) {
    const std::size_t missing = needed > have ? needed - have : 0;
    if (missing <= read_chunk) return read_chunk;
    return std::min(missing, std::max(have, read_chunk));
}
// Removes the first `written` bytes from a gathered write; true when something is left.
bool drop_written_prefix(std::vector<asio::const_buffer>& segments, std::size_t written) {
    std::size_t whole = 0;
    while (whole < segments.size() && written >= segments[whole].size()) {
        written -= segments[whole].size();
        ++whole;
    }
    segments.erase(segments.begin(), segments.begin() + static_cast<std::ptrdiff_t>(whole));
    if (!segments.empty()) segments.front() += written;
    return !segments.empty();
}
}  // namespace

// Sees the server's reply stream for the pump: tracks ReadyForQuery and ParameterStatus, gathers
// the forwarded segments for one write and, with a guard, applies the reply tracker's decisions
// (replies to the proxy's own messages dropped, held, or turned into the client's answer).
class PgSession::ServerObserver final : public pg::BackendStreamObserver {
  public:
    explicit ServerObserver(PgSession& s) : s_(s) {}
    pg::MessageDisposition on_header(char type, std::uint32_t) override {
        const auto code = static_cast<pg::BackendCode>(type);
        const bool tracked =
            code == pg::BackendCode::ready_for_query || code == pg::BackendCode::parameter_status;
        if (!s_.guard_) return {.forward = true, .observe = tracked};
        decision_ = s_.tracker_.on_reply(type);
        using A = pg::ReplyAction;
        // Whether the transactions the next ReadyForQuery ends committed (their keys' commits
        // are remembered: KeyClaims::committed_after): an error, or a ROLLBACK tag (read in
        // on_message while keys are held), says they did not.
        if (code == pg::BackendCode::error_response) s_.guard_->on_server_error();
        const bool tag_wanted =
            code == pg::BackendCode::command_complete && s_.guard_->follows_rollbacks();
        // An error makes the server skip to Sync: a late INSERT's first part may be skipped.
        if (code == pg::BackendCode::error_response && s_.guard_->late_answered(s_.tracker_))
            s_.late_answer_.cancel();
        // An error of the client's own statement inside a rewritten query: its position is
        // moved back into the client's text before it is sent.
        // (An error of the whole string, raised while the server parses it, comes as the
        // first statement's, which may be one of the proxy's.)
        fix_position_ =
            decision_.rewrite != 0 &&
            (code == pg::BackendCode::error_response || code == pg::BackendCode::notice_response) &&
            (decision_.action == A::forward || decision_.action == A::hold_failed ||
             decision_.action == A::proxy_error);
        if (fix_position_) {
            if (decision_.action != A::forward) s_.held_.clear();
            if (decision_.action == A::proxy_error) s_.guard_->on_proxy_error(decision_.tag);
            return {.forward = false, .observe = true};
        }
        switch (decision_.action) {
            case A::forward:
                return {.forward = true, .observe = tracked || tag_wanted};
            case A::drop:
                return {.forward = false, .observe = false};
            case A::hold_failed:
                s_.held_.clear();
                return {.forward = true, .observe = false};
            default:
                return {.forward = false, .observe = true};
        }
    }
    void on_message(char type, util::Bytes body) override {
        using A = pg::ReplyAction;
        if (s_.guard_ && fix_position_) {
            auto fields = pg::decode_error_fields(body);
            std::string out;
            if (fields) {
                if (decision_.action == pg::ReplyAction::proxy_error)
                    without_do_block_context(*fields);
                s_.guard_->fix_error_position(decision_.rewrite, *fields);
                pg::append_error_message(out, *fields, type);
            } else {
                append_message(out, type, body);
            }
            send_owned(std::move(out));
            return;
        }
        if (!s_.guard_ || decision_.action == A::forward) {
            if (static_cast<pg::BackendCode>(type) == pg::BackendCode::ready_for_query) {
                if (!body.empty()) {
                    const auto status = static_cast<pg::TransactionStatus>(body[0]);
                    s_.cycle_.on_ready_for_query(status);
                    if (s_.guard_) s_.guard_->on_ready_for_query(status, s_.tracker_.idle());
                    // A transaction that ran under the old guards after a reload has ended.
                    s_.refresh_guards();
                }
                if (s_.guard_ && decision_.ends_rewrite)
                    s_.guard_->on_rewrite_done(decision_.rewrite);
            } else if (static_cast<pg::BackendCode>(type) == pg::BackendCode::command_complete) {
                if (s_.guard_) s_.guard_->on_command_tag(util::as_chars(body));
            } else {
                s_.settings_.apply_parameter_status(body);
            }
            return;
        }
        switch (decision_.action) {
            case A::hold:
                append_message(s_.held_, type, body);
                break;
            case A::verdict_passed:
                if (!s_.held_.empty()) send_owned(std::exchange(s_.held_, {}));
                s_.guard_->on_check_passed(decision_.tag);
                break;
            case A::verdict_failed: {
                // The held replies (DataRow, CommandComplete) are what a failed statement never
                // sends; the server's error takes their place.
                s_.held_.clear();
                auto fields = pg::decode_error_fields(body);
                if (!fields) {
                    std::string raw;
                    append_message(raw, type, body);
                    send_owned(std::move(raw));
                    break;
                }
                // (An error of the whole query string, raised while the server parses it,
                // comes as the first statement's, which may be the proxy's check.)
                if (decision_.rewrite != 0)
                    s_.guard_->fix_error_position(decision_.rewrite, *fields);
                s_.guard_->on_check_failed(decision_.tag, *fields);
                std::string cleaned;
                pg::append_error_message(cleaned, *fields);
                send_owned(std::move(cleaned));
                break;
            }
            case A::add_count: {
                // The rows a COPY held back went in by the proxy's INSERT: one `COPY n`.
                const auto rows = pg::command_count(util::as_chars(body));
                if (rows) pg::add_to_command_count(s_.held_, *rows);
                if (!s_.held_.empty()) send_owned(std::exchange(s_.held_, {}));
                break;
            }
            case A::insert_count: {
                // The proxy's upsert in place of the client's INSERT: its count is the tag,
                // held for the check that follows.
                auto values = pg::decode_data_row(body);
                std::string tag = "INSERT 0 ";
                tag += values && !values->empty() && (*values)[0] ? std::string(*(*values)[0])
                                                                  : std::string("0");
                std::string out;
                pg::MessageWriter(out)
                    .begin(static_cast<char>(pg::BackendCode::command_complete))
                    .cstring(tag)
                    .finish();
                s_.held_ += out;  // until the check after it
                break;
            }
            case A::hold_update: {
                // A late UPDATE's wrapper: its `INSERT 0 n` (the keys it recorded, one per
                // updated row) is the client's `UPDATE n`.
                const auto rows = pg::command_count(util::as_chars(body));
                pg::MessageWriter(s_.held_)
                    .begin(static_cast<char>(pg::BackendCode::command_complete))
                    .cstring("UPDATE " + std::to_string(rows ? *rows : 0))
                    .finish();
                break;
            }
            case A::insert_rows:
            case A::update_rows: {
                // The proxy's upsert with RETURNING: its rows less their last column (the row
                // number they are ordered by), its `SELECT n` as the client's `INSERT 0 n`
                // (a late UPDATE's: `UPDATE n`).
                const auto t = static_cast<pg::BackendCode>(type);
                std::optional<std::string> out;
                // The columns to remove: the message's tag (the upsert's row number, or a late
                // INSERT's key columns).
                const std::size_t extra = std::max<std::uint32_t>(decision_.tag, 1);
                if (t == pg::BackendCode::row_description)
                    out = pg::row_description_without_last(body, extra);
                else if (t == pg::BackendCode::data_row)
                    out = pg::data_row_without_last(body, extra);
                if (t == pg::BackendCode::command_complete) {
                    const auto rows = pg::command_count(util::as_chars(body));
                    out.emplace();
                    pg::MessageWriter(*out)
                        .begin(static_cast<char>(pg::BackendCode::command_complete))
                        .cstring((decision_.action == A::update_rows ? "UPDATE " : "INSERT 0 ") +
                                 std::to_string(rows ? *rows : 0))
                        .finish();
                }
                if (out) s_.held_ += *out;  // until the check after it
                break;
            }
            case A::capture_row:
                s_.guard_->on_probe_row(decision_.tag, body);
                if (auto t = s_.guard_->take_client_timeouts()) s_.apply_client_timeouts(*t);
                break;
            case A::capture_done:
                s_.guard_->on_probe_done(decision_.tag);
                if (s_.guard_->late_answered(s_.tracker_)) s_.late_answer_.cancel();
                break;
            case A::proxy_error: {
                s_.held_.clear();
                s_.guard_->on_proxy_error(decision_.tag);
                std::string raw;
                auto fields = pg::decode_error_fields(body);
                if (fields && without_do_block_context(*fields))
                    pg::append_error_message(raw, *fields, type);
                else
                    append_message(raw, type, body);
                send_owned(std::move(raw));
                break;
            }
            default:
                break;
        }
    }
    void on_forward(util::Bytes segment) override {
        s_.client_write_segments_.emplace_back(segment.data(), segment.size());
    }

  private:
    // An error raised in one of the proxy's DO blocks (the refusal of a late write in a
    // read-only transaction, say) stands for the client's statement's own: PL/pgSQL's context
    // line and the RAISE's source location are the proxy's, not the client's. true: removed.
    static bool without_do_block_context(pg::ErrorFieldList& fields) {
        const bool from_do_block = std::any_of(fields.begin(), fields.end(), [](const auto& f) {
            return f.first == 'W' && f.second.find("inline_code_block") != std::string::npos;
        });
        if (!from_do_block) return false;
        std::erase_if(fields, [](const auto& f) {
            return f.first == 'W' || f.first == 'F' || f.first == 'L' || f.first == 'R';
        });
        return true;
    }
    static void append_message(std::string& out, char type, util::Bytes body) {
        out.push_back(type);
        std::uint8_t length[4];
        util::write_u32_be(length, static_cast<std::uint32_t>(body.size() + 4));
        out.append(reinterpret_cast<const char*>(length), 4);
        out.append(util::as_chars(body));
    }
    // Bytes of the proxy's making, in order with the forwarded segments; they stay alive (in a
    // list, which never moves its elements) until the write is done.
    void send_owned(std::string bytes) {
        s_.server_owned_.push_back(std::move(bytes));
        const auto& b = s_.server_owned_.back();
        s_.client_write_segments_.emplace_back(b.data(), b.size());
    }

    PgSession& s_;
    pg::ReplyDecision decision_;
    bool fix_position_ = false;
};

PgSession::PgSession(tcp::socket client, SharedState& shared, WorkerSessions& worker)
    : PgSession(std::move(client), shared, worker, shared.reloadable.current()) {}

PgSession::PgSession(tcp::socket client, SharedState& shared, WorkerSessions& worker,
                     ReloadableState::Snapshot settings)
    : shared_(shared),
      worker_(worker),
      config_(std::move(settings.value.config)),
      client_tls_(std::move(settings.value.client_tls)),
      backend_tls_(std::move(settings.value.backend_tls)),
      guards_(std::move(settings.value.guards)),
      guards_generation_(settings.generation),
      client_(std::move(client)),
      claim_waiter_(std::make_shared<ClaimWaiter>(client_.socket().get_executor())),
      late_answer_(client_.socket().get_executor()) {
    error_code ec;
    auto ep = client_.socket().remote_endpoint(ec);
    client_address_ = ec ? "unknown" : ep.address().to_string() + ":" + std::to_string(ep.port());
    client_.socket().set_option(tcp::no_delay(true), ec);
    worker_.add(this);
    shared_.connections.current.fetch_add(1, std::memory_order_relaxed);
    shared_.connections.total.fetch_add(1, std::memory_order_relaxed);
}

PgSession::~PgSession() {
    if (cancel_key_registered_) shared_.cancels.remove(cancel_key_);
    worker_.remove(this);
    shared_.connections.current.fetch_sub(1, std::memory_order_relaxed);
}

std::string PgSession::describe_client() const {
    std::string d = client_address_;
    if (!user_.empty()) d += " user=" + user_;
    if (!database_.empty()) d += " database=" + database_;
    return d;
}

void PgSession::begin_drain() {
    draining_ = true;
    if (cycle_.idle()) drain_signal_.emit(asio::cancellation_type::terminal);
}

void PgSession::close_now() {
    stop_client_pump_ = true;
    drain_signal_.emit(asio::cancellation_type::terminal);
    client_.close();
    if (server_) server_->close();
}

bool PgSession::between_transactions() const {
    // A message waiting for another session's key (not yet in the cycle) keeps the guards it
    // is waiting under: the wait points into them.
    return pumping_ && cycle_.idle() &&
           cycle_.transaction_status() == pg::TransactionStatus::idle &&
           (!guard_ || (tracker_.idle() && !guard_->late_pending())) && !wait_deadline_ &&
           !claim_wait_pending_;
}

void PgSession::start_guard() {
    if (guard_ || guards_->empty()) return;
    guard_ = std::make_unique<PgGuard>(guards_.get(), shared_.duplicates.get(), identity_,
                                       settings_, claim_waiter_);
    if (named_texts_) {
        guard_->learn_named_statements(std::move(*named_texts_));
        named_texts_.reset();
    }
}

void PgSession::remember_named_statement(char type, util::Bytes body) {
    // Allocated at the first named Parse: most sessions never have one.
    if (!named_texts_) {
        if (type != 'P' || body.empty() || body[0] == 0) return;
        named_texts_ = std::make_unique<NamedStatementTexts>();
    }
    named_texts_->on_client_message(type, body);
}

void PgSession::refresh_guards() {
    if (shared_.reloadable.generation() == guards_generation_) return;
    // Before the pumps run the session has written nothing; after, only between transactions.
    if (pumping_ && !between_transactions()) return;
    auto now = shared_.reloadable.current();
    guards_generation_ = now.generation;
    if (guard_) guard_->adopt(now.value.guards.get());  // the old guards are still alive here
    guards_ = std::move(now.value.guards);
    // A session without a guard gets one at its next client message (client_to_server), when
    // the pumps are between messages.
}

asio::awaitable<void> PgSession::send_to_client(std::string bytes) {
    co_await client_.async_write(asio::buffer(bytes), use_tuple);
}

asio::awaitable<void> PgSession::fatal_to_client(std::string_view sqlstate,
                                                 std::string_view message, std::string_view hint) {
    co_await send_to_client(pg::error_response(
        {.severity = "FATAL", .sqlstate = sqlstate, .message = message, .hint = hint}));
}

asio::awaitable<void> PgSession::run(std::shared_ptr<PgSession> self) {
    try {
        if (self->shared_.shutting_down) {
            // Accepted just before the listener closed: answer as a stopping server does.
            co_await refuse_postgres_client(std::move(self->client_.socket()), "57P03",
                                            "the database system is shutting down");
        } else if (co_await self->negotiate_startup() &&
                   co_await self->connect_and_authenticate()) {
            spdlog::debug("session {}: ready", self->describe_client());
            self->identity_ = {self->client_address_, self->user_, self->database_};
            self->pumping_ = true;
            self->start_guard();
            auto outcome = co_await (self->client_to_server() || self->server_to_client());
            const PumpEnd end = std::visit([](PumpEnd e) { return e; }, outcome);
            if (end == PumpEnd::drained) {
                co_await self->fatal_to_client(
                    "57P01", "terminating connection due to administrator command");
                std::string terminate;
                pg::MessageWriter(terminate)
                    .begin(static_cast<char>(pg::FrontendCode::terminate))
                    .finish();
                co_await self->server_->async_write(asio::buffer(terminate), use_tuple);
            } else if (end == PumpEnd::protocol_error && !self->server_pump_writing_) {
                // Half of a server message may be on the wire if the other pump was cut off
                // mid-write; then the only honest answer is to close.
                co_await self->fatal_to_client("08P01", self->protocol_error_);
            }
            spdlog::debug("session {}: closed ({})", self->describe_client(),
                          end == PumpEnd::client_closed   ? "client closed"
                          : end == PumpEnd::server_closed ? "server closed"
                          : end == PumpEnd::drained       ? "shutdown"
                                                          : self->protocol_error_);
        }
    } catch (const std::exception& e) {
        spdlog::error("session {}: {}", self->describe_client(), e.what());
    }
    self->client_.close();
    if (self->server_) self->server_->close();
}

asio::awaitable<bool> PgSession::negotiate_startup() {
    // A client may send SSLRequest and GSSENCRequest before its StartupMessage (libpq tries GSS
    // first when it has credentials); each is answered and the next packet read.
    for (int packets = 0; packets < 4; ++packets) {
        pg::FrameResult r;
        for (;;) {
            r = pg::read_startup_frame(client_buffer_.readable());
            if (r.status != pg::FrameStatus::need_more) break;
            // A whole chunk, not just the missing bytes: whatever the client sent along with a
            // packet must be seen (below: plaintext smuggled after SSLRequest).
            auto space = client_buffer_.writable(read_chunk);
            auto [ec, n] = co_await client_.async_read_some(asio::buffer(space), use_tuple);
            if (ec) co_return false;
            client_buffer_.commit(n);
        }
        if (r.status == pg::FrameStatus::error) {
            co_await fatal_to_client("08P01", "invalid length of startup packet");
            co_return false;
        }
        const std::uint32_t code = r.frame.code;
        if (code == pg::startup_code::ssl_request) {
            client_buffer_.consume(r.frame.wire_size);
            if (client_.is_tls()) {
                co_await fatal_to_client("08P01", "SSLRequest received on an encrypted connection");
                co_return false;
            }
            if (!client_tls_) {
                co_await send_to_client("N");
                continue;
            }
            // Bytes the client sent after SSLRequest, before the handshake, were not encrypted
            // and may have been injected (CVE-2021-23214): refuse them, as the server does.
            error_code ignored;
            if (!client_buffer_.empty() || client_.socket().available(ignored) > 0) {
                co_await fatal_to_client("08P01", "received unencrypted data after SSL request");
                co_return false;
            }
            co_await send_to_client("S");
            if (auto ec = co_await client_.handshake_as_server(*client_tls_)) {
                spdlog::info("session {}: TLS handshake failed: {}", client_address_, ec.message());
                co_return false;
            }
            continue;
        }
        if (code == pg::startup_code::gssenc_request) {
            client_buffer_.consume(r.frame.wire_size);
            co_await send_to_client("N");
            continue;
        }
        if (code == pg::startup_code::cancel_request) {
            co_await answer_cancel_request(r.frame.body);
            co_return false;
        }
        // A StartupMessage. Any protocol version is relayed: the server answers versions it does
        // not speak (NegotiateProtocolVersion, or an error), and the client sees that answer.
        speaks_protocol_3_ = (code >> 16) == 3;
        if (speaks_protocol_3_) {
            if (auto params = pg::decode_startup_parameters(r.frame.body)) {
                user_ = params->get("user");
                database_ = params->get("database");
                if (database_.empty()) database_ = user_;  // the server's own default
            }
        }
        startup_packet_.assign(util::as_chars(client_buffer_.readable().first(r.frame.wire_size)));
        client_buffer_.consume(r.frame.wire_size);
        co_return true;
    }
    co_await fatal_to_client("08P01", "too many negotiation requests before the startup packet");
    co_return false;
}

asio::awaitable<void> PgSession::answer_cancel_request(util::Bytes body) {
    const auto key = pg::decode_cancel_key(body);
    auto target = key ? shared_.cancels.find(*key) : nullptr;
    if (!target) {
        spdlog::debug("cancel request from {} for an unknown key: ignored", client_address_);
        co_return;
    }
    // A write of that session waiting for another's key is the proxy's to cancel, and then
    // nothing of the client's runs on the server: the request is not relayed. It would land on
    // what the proxy runs there meanwhile (the question of the session's lock_timeout, sent
    // without a Sync), whose error would make the server skip the proxy's answer to the client
    // until a Sync that never comes: the client would wait forever (test_pg_waits.py's cancel
    // test, one run in a few). Otherwise the request goes to the server for whatever it runs
    // (an idle backend ignores it).
    const bool in_proxy_wait = target->in_wait();
    target->cancel_wait();
    target.reset();
    if (in_proxy_wait) co_return;
    auto upstream = co_await connect_postgres_upstream(config_->backend, *backend_tls_);
    if (!upstream.stream) {
        spdlog::warn("cancel request from {}: {}", client_address_, upstream.error);
        co_return;
    }
    const std::string request = pg::encode_cancel_request(*key);
    auto [ec, n] = co_await upstream.stream->async_write(asio::buffer(request), use_tuple);
    if (!ec) {
        // The server closes the connection once it has processed the request; libpq waits for
        // that, so the client's cancel returns only after the server has acted on it.
        char ignored[64];
        co_await upstream.stream->async_read_some(asio::buffer(ignored), use_tuple);
    }
    upstream.stream->close();
}

asio::awaitable<bool> PgSession::connect_and_authenticate() {
    auto upstream = co_await connect_postgres_upstream(config_->backend, *backend_tls_);
    if (!upstream.stream) {
        spdlog::warn("session {}: {}", describe_client(), upstream.error);
        co_await fatal_to_client("08006", "uniqguard: " + upstream.error);
        co_return false;
    }
    server_ = std::move(upstream.stream);
    {
        auto [ec, n] = co_await server_->async_write(asio::buffer(startup_packet_), use_tuple);
        if (ec) co_return false;
        startup_packet_.clear();
        startup_packet_.shrink_to_fit();
    }
    if (!speaks_protocol_3_) {
        // The server answers a version it does not speak in that version's own framing (2.0:
        // a bare 'E' and text); relay its bytes untouched until it closes.
        co_await relay_raw_server_bytes();
        co_return false;
    }

    std::string to_client;  // messages gathered for one write
    bool offered_sasl = false;
    for (;;) {
        auto frame = pg::read_typed_frame(server_buffer_.readable(), max_auth_message);
        if (frame.status == pg::FrameStatus::error) {
            spdlog::warn("session {}: malformed message from the server during authentication",
                         describe_client());
            co_await fatal_to_client("08P01", "uniqguard: the server sent a malformed message");
            co_return false;
        }
        if (frame.status == pg::FrameStatus::need_more) {
            if (!to_client.empty()) {
                auto [ec, n] = co_await client_.async_write(asio::buffer(to_client), use_tuple);
                if (ec) co_return false;
                to_client.clear();
            }
            auto space =
                server_buffer_.writable(next_read_size(server_buffer_.size(), frame.needed));
            auto [ec, n] = co_await server_->async_read_some(asio::buffer(space), use_tuple);
            if (ec) co_return false;  // the server closed after its error, which was forwarded
            server_buffer_.commit(n);
            continue;
        }
        const auto& f = frame.frame;
        const auto raw = util::as_chars(server_buffer_.readable().first(f.wire_size));
        bool client_must_answer = false;
        bool done = false;
        switch (static_cast<pg::BackendCode>(f.type)) {
            case pg::BackendCode::authentication: {
                const auto code = pg::authentication_code(f.body).value_or(pg::auth_code::ok);
                if (code == pg::auth_code::sasl &&
                    config_->listen.auth == config::ClientAuth::terminate) {
                    // SCRAM ends at the proxy (pg_scram_terminate.hpp); the server's
                    // AuthenticationOk and the rest are relayed below as usual.
                    auto offered =
                        pg::decode_sasl_mechanisms(f.body).value_or(std::vector<std::string>{});
                    if (should_terminate_scram(*config_, offered)) {
                        server_buffer_.consume(f.wire_size);
                        if (!to_client.empty()) {
                            auto [ec, n] =
                                co_await client_.async_write(asio::buffer(to_client), use_tuple);
                            if (ec) co_return false;
                            to_client.clear();
                        }
                        const std::string who = describe_client();
                        ScramTerminateLegs legs{client_,  client_buffer_, *server_, server_buffer_,
                                                *config_, *backend_tls_,  user_,    who};
                        if (!co_await terminate_scram(legs, std::move(offered))) co_return false;
                        continue;
                    }
                }
                if (code == pg::auth_code::sasl) {
                    // TLS, where there is any, ends at the proxy: the client can never bind to
                    // the server's channel, so -PLUS is never offered to it. (A plaintext client
                    // offered -PLUS by a TLS server leg would refuse to authenticate at all.)
                    auto mechanisms =
                        pg::decode_sasl_mechanisms(f.body).value_or(std::vector<std::string>{});
                    std::erase(mechanisms, std::string(pg::scram_sha_256_plus));
                    to_client += pg::encode_authentication_sasl(mechanisms);
                } else {
                    to_client += raw;
                }
                offered_sasl = offered_sasl || code == pg::auth_code::sasl;
                client_must_answer = code != pg::auth_code::ok && code != pg::auth_code::sasl_final;
                break;
            }
            case pg::BackendCode::backend_key_data:
                if (auto key = pg::decode_cancel_key(f.body)) {
                    cancel_key_ = *key;
                    cancel_key_registered_ = true;
                    shared_.cancels.add(cancel_key_, weak_from_this());
                }
                to_client += raw;
                break;
            case pg::BackendCode::parameter_status:
                settings_.apply_parameter_status(f.body);
                to_client += raw;
                break;
            case pg::BackendCode::ready_for_query:
                to_client += raw;
                done = true;
                break;
            case pg::BackendCode::error_response:
                if (auto explained = explain_pg_client_certificate_refusal(f.body)) {
                    spdlog::info(
                        "session {}: the server requires a client certificate, which "
                        "cannot pass through the proxy",
                        describe_client());
                    to_client += *explained;
                } else {
                    to_client += raw;
                }
                break;
            default:  // NoticeResponse, NegotiateProtocolVersion
                to_client += raw;
                break;
        }
        server_buffer_.consume(f.wire_size);
        if (done || client_must_answer) {
            auto [ec, n] = co_await client_.async_write(asio::buffer(to_client), use_tuple);
            if (ec) co_return false;
            to_client.clear();
        }
        if (done) co_return true;
        if (!client_must_answer) continue;

        // The client's answer: PasswordMessage, SASLInitialResponse or SASLResponse.
        pg::FrameResult answer;
        for (;;) {
            answer = pg::read_typed_frame(client_buffer_.readable(), max_auth_message);
            if (answer.status != pg::FrameStatus::need_more) break;
            auto space =
                client_buffer_.writable(next_read_size(client_buffer_.size(), answer.needed));
            auto [ec, n] = co_await client_.async_read_some(asio::buffer(space), use_tuple);
            if (ec) co_return false;
            client_buffer_.commit(n);
        }
        if (answer.status == pg::FrameStatus::error) {
            co_await fatal_to_client("08P01", "invalid message length");
            co_return false;
        }
        if (offered_sasl && answer.frame.type == static_cast<char>(pg::FrontendCode::password)) {
            auto initial = pg::decode_sasl_initial_response(answer.frame.body);
            if (initial && initial->gs2_flag == 'y' && client_.is_tls() && server_->is_tls()) {
                // The client could bind to a channel but was not offered -PLUS (the proxy took it
                // out); a server reached over TLS reads that as a downgrade attack and refuses.
                // Say what is wrong and how to fix it instead of relaying a riddle.
                spdlog::info(
                    "session {}: SCRAM channel binding cannot be relayed across two TLS legs",
                    describe_client());
                co_await fatal_to_client(
                    "08P01",
                    "uniqguard: SCRAM channel binding cannot be relayed when both the client and "
                    "the "
                    "database server connections use TLS",
                    "Connect with channel_binding=disable, or use a plaintext connection on one of "
                    "the two legs (listen.tls_cert or backend.tls = \"disable\"), or set "
                    "listen.auth = \"terminate\" on the proxy.");
                co_return false;
            }
            offered_sasl = false;  // only the first answer carries the gs2 header
        }
        auto [ec, n] = co_await server_->async_write(
            to_buffer(client_buffer_.readable().first(answer.frame.wire_size)), use_tuple);
        if (ec) co_return false;
        client_buffer_.consume(answer.frame.wire_size);
    }
}

asio::awaitable<void> PgSession::relay_raw_server_bytes() {
    char chunk[1024];
    for (;;) {
        auto [rec, n] = co_await server_->async_read_some(asio::buffer(chunk), use_tuple);
        if (rec) co_return;
        auto [wec, wn] = co_await client_.async_write(asio::buffer(chunk, n), use_tuple);
        if (wec) co_return;
    }
}

asio::awaitable<PgSession::PumpEnd> PgSession::client_to_server() {
    const std::uint64_t max_message = config_->listen.max_message_bytes;
    for (;;) {
        // Forward every whole message already buffered, in one write. With a guard, a message
        // may be replaced by the guard's own (the rewritten query, the check around an Execute):
        // the write then gathers runs of the client's bytes and the guard's.
        std::size_t forward = 0;
        std::size_t run_start = 0;  // the client bytes not yet in `client_spans_`
        bool terminate = false;
        bool rewritten = false;
        bool wait = false;    // the next message waits for another session's key
        bool resume = false;  // the last message was a late INSERT's first part
        pg::FrameResult r;
        // A reload's guards, taken before this batch if no transaction is open.
        if (shared_.reloadable.generation() != guards_generation_) refresh_guards();
        if (!guard_ && !guards_->empty() && between_transactions()) start_guard();
        BatchMeter meter(worker_.metrics());
        for (;;) {
            r = pg::read_typed_frame(client_buffer_.readable().subspan(forward), max_message);
            if (r.status != pg::FrameStatus::complete) break;
            const char type = r.frame.type;
            if (guard_) {
                const auto raw = client_buffer_.readable().subspan(forward, r.frame.wire_size);
                const std::size_t before = client_rewrites_.size();
                const auto outcome = guard_->on_client_message(
                    type, r.frame.body, raw, client_rewrites_, tracker_,
                    cycle_.transaction_status() != pg::TransactionStatus::idle);
                if (outcome.wait) {
                    // Not sent, not counted: the messages before it go now (and the guard's
                    // probe of lock_timeout, if any), then this one waits, and is read again
                    // afterwards.
                    if (client_rewrites_.size() > before) {
                        if (forward > run_start)
                            client_spans_.push_back({false, run_start, forward - run_start});
                        client_spans_.push_back({true, before, client_rewrites_.size() - before});
                        run_start = forward;
                        rewritten = true;
                    }
                    wait = true;
                    // From here the wait points into the guards: no reload may swap them
                    // before it ends, even while the messages before it are being written.
                    claim_wait_pending_ = true;
                    break;
                }
                claim_wait_pending_ = false;
                wait_deadline_.reset();
                statement_deadline_ = std::chrono::steady_clock::time_point::max();
                deadlock_check_at_.reset();
                if (outcome.replaced) {
                    if (forward > run_start)
                        client_spans_.push_back({false, run_start, forward - run_start});
                    client_spans_.push_back({true, before, client_rewrites_.size() - before});
                    run_start = forward + r.frame.wire_size;
                    rewritten = true;
                } else {
                    tracker_.sent(type, outcome.use);
                }
            } else if (type == 'P' || type == 'C' || type == 'Q') {
                remember_named_statement(type, r.frame.body);
            }
            cycle_.on_client_message(type);
            if (type == static_cast<char>(pg::FrontendCode::query))
                meter.statement(StatementKind::query);
            else if (type == static_cast<char>(pg::FrontendCode::parse))
                meter.statement(StatementKind::prepare);
            else if (type == static_cast<char>(pg::FrontendCode::execute))
                meter.statement(StatementKind::execute);
            forward += r.frame.wire_size;
            if (type == static_cast<char>(pg::FrontendCode::terminate)) {
                terminate = true;
                break;
            }
            if (guard_ && guard_->late_pending()) {
                resume = true;
                break;
            }
        }
        meter.done();
        if (rewritten) {
            if (forward > run_start)
                client_spans_.push_back({false, run_start, forward - run_start});
            std::vector<asio::const_buffer> buffers;
            for (const auto& span : client_spans_) {
                if (span.owned)
                    buffers.emplace_back(client_rewrites_.data() + span.offset, span.length);
                else
                    buffers.emplace_back(client_buffer_.readable().data() + span.offset,
                                         span.length);
            }
            auto [ec, n] = co_await server_->async_write(buffers, use_tuple);
            client_spans_.clear();
            client_rewrites_.clear();
            if (ec) co_return PumpEnd::server_closed;
            client_buffer_.consume(forward);
        } else if (forward > 0) {
            client_rewrites_.clear();
            client_spans_.clear();
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
        if (wait) {
            if (!co_await wait_for_claim()) co_return PumpEnd::server_closed;
            continue;
        }
        if (resume) {
            if (!co_await resume_late()) co_return PumpEnd::server_closed;
            continue;
        }
        if (terminate) co_return PumpEnd::client_closed;
        if (r.status == pg::FrameStatus::error) {
            protocol_error_ = r.error == pg::FrameError::message_too_large
                                  ? "message of " + std::to_string(r.announced_length) +
                                        " bytes exceeds listen.max_message_bytes (" +
                                        std::to_string(max_message) + ")"
                                  : "invalid message length";
            spdlog::warn("session {}: {}", describe_client(), protocol_error_);
            if (!cycle_.idle()) {
                // The server still owes replies to what was forwarded before the bad message;
                // the client gets them first, as from the server itself, which reads the bad
                // message only after answering the earlier ones. The server pump sends the
                // 08P01 once the cycle is idle and then ends, which wakes us.
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
            if (draining_ && cycle_.idle()) co_return PumpEnd::drained;
            if (!client_.is_tls()) {
                // The next message lands in the buffer's inline room, read by the reactor as
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

asio::awaitable<bool> PgSession::resume_late() {
    for (;;) {
        while (!guard_->late_answered(tracker_)) {
            if (stop_client_pump_) co_return false;  // the server pump has ended
            late_answer_.expires_at(asio::steady_timer::time_point::max());
            co_await late_answer_.async_wait(
                asio::bind_cancellation_slot(drain_signal_.slot(), use_tuple));
            if (stop_client_pump_) co_return false;
        }
        client_rewrites_.clear();
        const auto outcome = guard_->resume_late(client_rewrites_, tracker_);
        if (!client_rewrites_.empty()) {
            auto [ec, n] = co_await server_->async_write(asio::buffer(client_rewrites_), use_tuple);
            client_rewrites_.clear();
            if (ec) co_return false;
        }
        if (!outcome.wait) break;
        claim_wait_pending_ = true;
        if (!co_await wait_for_claim()) co_return false;
    }
    claim_wait_pending_ = false;
    wait_deadline_.reset();
    statement_deadline_ = std::chrono::steady_clock::time_point::max();
    deadlock_check_at_.reset();
    co_return true;
}

void PgSession::apply_client_timeouts(PgGuard::ClientTimeouts limits) {
    spdlog::debug(
        "session {}: lock_timeout {} ms, statement_timeout {} ms for the wait in progress",
        describe_client(), limits.lock.count(), limits.statement.count());
    if (!wait_deadline_) return;  // the wait is over already
    const auto* g = guard_->waiting_for();
    if (!g || g->config().lock_wait_timeout.count() == 0)
        wait_deadline_ = limits.lock.count() > 0 ? wait_started_ + limits.lock
                                                 : std::chrono::steady_clock::time_point::max();
    // From the wait's start, not the statement's (the proxy does not know when the server
    // would have started counting): at most the statement's time before its wait longer.
    statement_deadline_ = limits.statement.count() > 0
                              ? wait_started_ + limits.statement
                              : std::chrono::steady_clock::time_point::max();
    // The pump wakes, finds neither release nor cancel, and waits again until the new deadline.
    claim_waiter_->timer.cancel();
}

asio::awaitable<bool> PgSession::wait_for_claim() {
    // The server's default deadlock_timeout: how long a wait lasts before it looks for a cycle.
    constexpr auto deadlock_timeout = std::chrono::seconds(1);
    auto& w = *claim_waiter_;
    guard::GuardState* g = guard_->waiting_for();
    const auto now = std::chrono::steady_clock::now();
    if (!wait_deadline_) {
        // 0: as the server, the session's own lock_timeout, which the guard asked the server
        // for (apply_lock_timeout sets the deadline when the answer comes); until then, none.
        const auto limit = g ? g->config().lock_wait_timeout : std::chrono::milliseconds(0);
        wait_started_ = now;
        wait_deadline_ =
            limit.count() > 0 ? now + limit : std::chrono::steady_clock::time_point::max();
        if (g) g->counters().waits.fetch_add(1, std::memory_order_relaxed);
    }
    // Every sleep looks for a cycle once it has lasted deadlock_timeout, a wait that resumes
    // after a wake (the key held again, maybe by another session) included: a cycle closed by
    // two such resumed waits is found too.
    if (!deadlock_check_at_) deadlock_check_at_ = now + deadlock_timeout;
    auto& waits = guard::ClaimWaits::process();
    const auto owner = guard_->session_claims().owner();
    const auto& wanted = guard_->session_claims().wanted();
    if (wanted.table) waits.waiting(owner, *wanted.table, wanted.fp);
    if (!w.woken && !w.cancelled) {
        if (g) g->counters().waiting.fetch_add(1, std::memory_order_relaxed);
        const auto deadline = std::min(*wait_deadline_, statement_deadline_);
        w.timer.expires_at(deadlock_check_at_ ? std::min(deadline, *deadlock_check_at_) : deadline);
        co_await w.timer.async_wait(asio::bind_cancellation_slot(drain_signal_.slot(), use_tuple));
        if (g) g->counters().waiting.fetch_sub(1, std::memory_order_relaxed);
    }
    const auto after = std::chrono::steady_clock::now();
    // As the server: the session whose wait first lasts deadlock_timeout looks for a cycle of
    // waits through itself, once, and is the one that fails (40P01); the others go on.
    const bool deadlocked = !w.woken && !w.cancelled && deadlock_check_at_ &&
                            after >= *deadlock_check_at_ && waits.leave_if_in_cycle(owner);
    if (deadlock_check_at_ && after >= *deadlock_check_at_) deadlock_check_at_.reset();
    waits.done(owner);
    w.waiting = false;
    if (stop_client_pump_) co_return false;
    if (w.cancelled) {
        guard_->end_wait("57014", "canceling statement due to user request");
    } else if (deadlocked) {
        guard_->end_wait("40P01", "deadlock detected", "See server log for query details.");
    } else if (!w.woken && after >= statement_deadline_ && statement_deadline_ <= *wait_deadline_) {
        guard_->end_wait("57014", "canceling statement due to statement timeout");
    } else if (!w.woken && after >= *wait_deadline_) {
        guard_->end_wait("55P03", "canceling statement due to lock timeout");
    }
    // Else woken (the key was released), the cycle check found none, or a shutdown began: the
    // message is decided again, and waits again if the key is held again.
    w.woken = false;
    w.cancelled = false;
    co_return true;
}

asio::awaitable<PgSession::PumpEnd> PgSession::server_to_client() {
    ServerObserver observer(*this);
    PumpEnd end = PumpEnd::server_closed;
    bool streaming = false;  // the last read filled its room
    for (;;) {
        if (server_buffer_.empty()) {
            // A reply lands in the buffer's inline room (the heap block is released once the
            // cycle is idle); once a read fills its room, a large result is streaming and the
            // reads take 16 KiB. Either way the reactor reads as soon as bytes arrive.
            if (cycle_.idle()) server_buffer_.release_if_empty();
            auto space = server_buffer_.writable(streaming ? read_chunk : 1);
            auto [ec, n] = co_await server_->async_read_some(asio::buffer(space), use_tuple);
            if (ec) break;
            streaming = n == space.size();
            server_buffer_.commit(n);
        }
        client_write_segments_.clear();
        if (!server_scanner_.feed(server_buffer_.readable(), observer)) {
            spdlog::warn("session {}: the server sent a malformed message", describe_client());
            break;
        }
        if (!client_write_segments_.empty()) {
            error_code ec;
            const std::size_t done = client_.write_now(client_write_segments_, ec);
            if (ec && ec != asio::error::would_block) {
                end = PumpEnd::client_closed;
                break;
            }
            if (drop_written_prefix(client_write_segments_, done)) {
                // The client's socket buffer is full: wait for it (backpressure: nothing more
                // is read from the server meanwhile).
                server_pump_writing_ = true;
                std::tie(ec, std::ignore) =
                    co_await client_.async_write(client_write_segments_, use_tuple);
                server_pump_writing_ = false;
                if (ec) {
                    end = PumpEnd::client_closed;
                    break;
                }
            }
        }
        server_buffer_.consume(server_buffer_.size());
        server_owned_.clear();
        if (protocol_error_pending_ && cycle_.idle()) {
            end = PumpEnd::protocol_error;
            break;  // run() sends the 08P01: nothing of ours is mid-write now
        }
        if (draining_ && cycle_.idle()) {
            end = PumpEnd::drained;
            break;
        }
    }
    // Wake the client pump, which may be waiting for a client that has nothing to say.
    stop_client_pump_ = true;
    drain_signal_.emit(asio::cancellation_type::terminal);
    co_return end;
}

}  // namespace uniqguard::proxy
