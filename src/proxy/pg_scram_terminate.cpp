#include "proxy/pg_scram_terminate.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "pgclient/messages.hpp"
#include "pgclient/scram.hpp"
#include "protocol/postgres/auth.hpp"
#include "protocol/postgres/channel_binding.hpp"
#include "protocol/postgres/frame_reader.hpp"
#include "protocol/postgres/message_codes.hpp"
#include "protocol/postgres/message_writer.hpp"
#include "protocol/postgres/scram_server.hpp"
#include "proxy/pg_auth_query.hpp"
#include "util/gcc12_coroutine_frames.hpp"

namespace uniqguard::proxy {

namespace pg = protocol::postgres;

namespace {

// Authentication messages are small; anything larger is not a PostgreSQL peer.
constexpr std::uint64_t max_auth_message = 1 << 20;
constexpr std::size_t read_chunk = 16 * 1024;

bool offers(const std::vector<std::string>& mechanisms, std::string_view name) {
    return std::find(mechanisms.begin(), mechanisms.end(), name) != mechanisms.end();
}

// One whole message from `stream`, left at the front of `buffer` (the caller consumes it).
// nullopt: the peer is gone, or sent a malformed length (then `malformed` is set).
asio::awaitable<std::optional<pg::Frame>> read_message(Stream& stream, util::ByteBuffer& buffer,
                                                       bool& malformed) {
    for (;;) {
        const auto r = pg::read_typed_frame(buffer.readable(), max_auth_message);
        if (r.status == pg::FrameStatus::complete) co_return r.frame;
        malformed = r.status == pg::FrameStatus::error;
        if (malformed) co_return std::nullopt;
        const std::size_t missing = r.needed > buffer.size() ? r.needed - buffer.size() : 1;
        auto space = buffer.writable(std::max(read_chunk, missing));
        auto [ec, n] = co_await stream.async_read_some(asio::buffer(space), use_tuple);
        if (ec) co_return std::nullopt;
        buffer.commit(n);
    }
}

asio::awaitable<bool> send(Stream& stream, const std::string& bytes) {
    auto [ec, n] = co_await stream.async_write(asio::buffer(bytes), use_tuple);
    co_return !ec;
}

asio::awaitable<void> send_fatal(Stream& client, std::string_view sqlstate,
                                 std::string_view message, std::string_view detail = {}) {
    const std::string bytes = pg::error_response(
        {.severity = "FATAL", .sqlstate = sqlstate, .message = message, .detail = detail});
    co_await send(client, bytes);
}

// The client's next message, which must be a SASL response ('p'); its body, or nullopt after
// telling the client what is wrong (as the server: 08P01).
asio::awaitable<std::optional<std::string>> read_sasl_response(ScramTerminateLegs& legs) {
    bool malformed = false;
    const auto frame = co_await read_message(legs.client, legs.client_buffer, malformed);
    if (malformed) co_await send_fatal(legs.client, "08P01", "invalid message length");
    if (!frame) co_return std::nullopt;
    const char type = frame->type;
    std::string body(util::as_chars(frame->body));
    legs.client_buffer.consume(frame->wire_size);
    if (type != static_cast<char>(pg::FrontendCode::password)) {
        const std::string message =
            "expected SASL response, got message type " + std::to_string(static_cast<int>(type));
        co_await send_fatal(legs.client, "08P01", message);
        co_return std::nullopt;
    }
    co_return body;
}

// The tls-server-end-point data of the proxy's certificate on the client's connection; empty on
// a plaintext connection (then -PLUS is not offered).
std::string own_binding(Stream& client) {
    SSL* ssl = client.native_ssl();
    if (ssl == nullptr) return {};
    return pg::tls_server_end_point(SSL_get_certificate(ssl)).value_or(std::string{});
}

// The same for the server's certificate, when it offers -PLUS over a TLS connection.
std::string server_binding(Stream& server, const std::vector<std::string>& mechanisms) {
    SSL* ssl = server.native_ssl();
    if (ssl == nullptr || !offers(mechanisms, pg::scram_sha_256_plus)) return {};
    X509* certificate = SSL_get1_peer_certificate(ssl);
    auto data = pg::tls_server_end_point(certificate);
    X509_free(certificate);
    return data.value_or(std::string{});
}

// The proxy's own login to the server with the client's keys. True when the server proved it
// knows them (its AuthenticationOk then follows, for the caller to relay); false after telling
// the client why.
asio::awaitable<bool> log_in_to_server(ScramTerminateLegs& legs,
                                       const std::vector<std::string>& mechanisms,
                                       const pgclient::ScramKeys& keys, std::string& used) {
    pgclient::ScramClient scram(keys, server_binding(legs.server, mechanisms));
    used = scram.mechanism();
    std::string out;
    pgclient::append_sasl_initial_response(out, scram.mechanism(), scram.client_first_message());
    if (!co_await send(legs.server, out)) co_return false;
    // Two rounds: AuthenticationSASLContinue, then AuthenticationSASLFinal. (A plain loop: GCC 12
    // mishandles an initializer_list that lives across a co_await.)
    for (int round = 0; round < 2; ++round) {
        const std::uint32_t expected =
            round == 0 ? pg::auth_code::sasl_continue : pg::auth_code::sasl_final;
        bool malformed = false;
        const auto frame = co_await read_message(legs.server, legs.server_buffer, malformed);
        if (!frame) {
            co_await send_fatal(legs.client, "08006",
                                "uniqguard: the database server closed the connection during "
                                "authentication");
            co_return false;
        }
        const auto raw = legs.server_buffer.readable().first(frame->wire_size);
        if (frame->type == static_cast<char>(pg::BackendCode::error_response)) {
            // The server's own refusal, as it is (a password changed since the auth query).
            const std::string error(util::as_chars(raw));
            legs.server_buffer.consume(frame->wire_size);
            co_await send(legs.client, error);
            co_return false;
        }
        const auto code = pg::authentication_code(frame->body);
        const std::string data =
            frame->body.size() >= 4 ? std::string(util::as_chars(frame->body.subspan(4))) : "";
        const bool is_expected =
            frame->type == static_cast<char>(pg::BackendCode::authentication) && code == expected;
        legs.server_buffer.consume(frame->wire_size);
        if (!is_expected) {
            spdlog::warn("session {}: unexpected message from the server during SCRAM", legs.who);
            co_await send_fatal(legs.client, "08P01",
                                "uniqguard: the server sent an unexpected message during "
                                "authentication");
            co_return false;
        }
        const auto step = expected == pg::auth_code::sasl_continue
                              ? scram.handle_server_first(data)
                              : scram.handle_server_final(data);
        if (!step.ok()) {
            // Not a secret: the step's error names what was wrong, never a key.
            spdlog::warn("session {}: logging in to the server failed: {}", legs.who, step.error);
            co_await send_fatal(legs.client, "08006",
                                "uniqguard: logging in to the database server failed");
            co_return false;
        }
        if (expected == pg::auth_code::sasl_continue) {
            out.clear();
            pgclient::append_sasl_response(out, step.message);
            if (!co_await send(legs.server, out)) co_return false;
        }
    }
    co_return scram.server_verified();
}

}  // namespace

bool should_terminate_scram(const config::Config& config,
                            const std::vector<std::string>& server_mechanisms) {
    return config.listen.auth == config::ClientAuth::terminate &&
           offers(server_mechanisms, pg::scram_sha_256);
}

asio::awaitable<bool> terminate_scram(ScramTerminateLegs legs,
                                      std::vector<std::string> server_mechanisms) {
    // The server waits for our first SCRAM message while we read the verifier and run the
    // client's exchange (its authentication_timeout, 60 s by default, bounds the whole).
    auto answer = co_await read_scram_verifier(legs.config, legs.backend_tls, legs.user);
    if (!answer.error.empty()) {
        // The client learns nothing of the proxy's configuration, the operator everything.
        spdlog::warn("session {}: cannot authenticate at the proxy: {}", legs.who, answer.error);
        co_await send_fatal(legs.client, "08006",
                            "uniqguard: cannot authenticate at the proxy now; see its log");
        co_return false;
    }
    pg::ScramServer scram(std::move(answer.verifier), legs.user, own_binding(legs.client));
    if (!co_await send(legs.client, pg::encode_authentication_sasl(scram.mechanisms())))
        co_return false;

    const auto initial = co_await read_sasl_response(legs);
    if (!initial) co_return false;
    const auto decoded = pg::decode_sasl_initial_response(util::as_bytes(*initial));
    if (!decoded) {
        co_await send_fatal(legs.client, "08P01", "invalid message format");
        co_return false;
    }
    auto step = scram.handle_client_first(decoded->mechanism, util::as_chars(decoded->data));
    if (step.ok()) {
        if (!co_await send(legs.client, pg::encode_authentication_sasl_continue(step.message)))
            co_return false;
        const auto final_message = co_await read_sasl_response(legs);
        if (!final_message) co_return false;
        step = scram.handle_client_final(*final_message);
    }
    if (!step.ok()) {
        const auto& f = *step.failure;
        spdlog::info("session {}: authentication at the proxy failed: {} ({})", legs.who, f.message,
                     f.sqlstate);
        co_await send_fatal(legs.client, f.sqlstate, f.message, f.detail);
        co_return false;
    }

    pgclient::ScramKeys keys;
    keys.client_key.bytes = scram.client_key();
    keys.server_key = scram.verifier().server_key;
    std::string server_mechanism;
    if (!co_await log_in_to_server(legs, server_mechanisms, keys, server_mechanism))
        co_return false;
    spdlog::debug("session {}: SCRAM authenticated at the proxy (client: {}; server: {})", legs.who,
                  decoded->mechanism, server_mechanism);
    co_return co_await send(legs.client, pg::encode_authentication_sasl_final(step.message));
}

}  // namespace uniqguard::proxy
