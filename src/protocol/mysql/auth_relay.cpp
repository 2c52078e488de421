#include "protocol/mysql/auth_relay.hpp"

#include <openssl/crypto.h>

#include "protocol/mysql/caching_sha2.hpp"
#include "protocol/mysql/error_codes.hpp"
#include "protocol/mysql/wire.hpp"

namespace uniqguard::protocol::mysql {

namespace {
constexpr std::uint8_t ok_header = 0x00;
constexpr std::uint8_t more_data_header = 0x01;
constexpr std::uint8_t switch_header = 0xFE;
constexpr std::uint8_t err_header = 0xFF;

AuthStep step(AuthStepKind kind) { return AuthStep{.kind = kind}; }
AuthStep refuse(std::uint16_t code, std::string_view sqlstate, std::string message) {
    return AuthStep{.kind = AuthStepKind::refuse,
                    .error = {.code = code, .sqlstate = sqlstate, .message = std::move(message)}};
}
}  // namespace

AuthRelay::AuthRelay(std::string plugin, std::string scramble, bool client_tls, bool server_tls)
    : plugin_(std::move(plugin)),
      scramble_(std::move(scramble)),
      client_tls_(client_tls),
      server_tls_(server_tls) {}

AuthRelay::~AuthRelay() { OPENSSL_cleanse(password_.data(), password_.size()); }

AuthStep AuthRelay::on_server_packet(util::Bytes payload) {
    if (payload.empty())
        return refuse(error_code::bad_handshake, "08S01",
                      "uniqguard: the server sent an empty packet during authentication");
    switch (payload[0]) {
        case ok_header:
            return step(AuthStepKind::authenticated);
        case err_header:
            return step(AuthStepKind::failed);
        case switch_header: {
            // AuthSwitchRequest: plugin name, NUL, the new plugin's data (a new scramble).
            PayloadCursor in(payload.subspan(1));
            if (payload.size() > 1) {
                plugin_ = std::string(in.null_terminated());
                auto data = util::as_chars(in.rest());
                if (!data.empty() && data.back() == '\0') data.remove_suffix(1);
                scramble_ = std::string(data);
            } else {
                plugin_ = "mysql_old_password";  // the pre-4.1 form: no name at all
            }
            sha2_ = Sha2::idle;
            return step(AuthStepKind::forward_then_read_client);
        }
        case more_data_header:
            break;
        default:
            return refuse(error_code::bad_handshake, "08S01",
                          "uniqguard: unexpected packet from the server during authentication");
    }

    // AuthMoreData.
    if (sha2_ == Sha2::fetching_public_key) {
        const auto pem = util::as_chars(payload.subspan(1));
        auto encrypted = encrypt_password_for_server(password_, scramble_, pem);
        OPENSSL_cleanse(password_.data(), password_.size());
        password_.clear();
        sha2_ = Sha2::idle;
        if (!encrypted)
            return refuse(error_code::access_denied, "28000",
                          "uniqguard: cannot use the server's public key to send the password");
        return AuthStep{.kind = AuthStepKind::send_to_server, .payload = std::move(*encrypted)};
    }
    if (plugin_ == caching_sha2_password && payload.size() == 2) {
        if (payload[1] == sha2_fast_auth_success) return step(AuthStepKind::forward_to_client);
        if (payload[1] == sha2_perform_full_auth) {
            if (!client_tls_ && server_tls_)
                return refuse(
                    error_code::not_supported_auth_mode, "08004",
                    "uniqguard: caching_sha2_password needs the password, which a plaintext "
                    "client connection only sends RSA-encrypted for the server, while the "
                    "server's connection is TLS and expects it in clear. Connect to the proxy "
                    "with TLS, or set backend.tls = \"disable\", or log in once directly so the "
                    "server caches the account (the fast path is relayed on any connection).");
            sha2_ = Sha2::full_auth;
        }
    }
    return step(AuthStepKind::forward_then_read_client);
}

AuthStep AuthRelay::on_client_packet(util::Bytes payload) {
    if (sha2_ == Sha2::full_auth && client_tls_ && !server_tls_) {
        // The client sent its password in clear (its connection is TLS). The server's
        // connection is not, so the server wants it RSA-encrypted: fetch its key first.
        password_.assign(util::as_chars(payload));
        if (password_.empty() || password_.back() != '\0') password_.push_back('\0');
        sha2_ = Sha2::fetching_public_key;
        return AuthStep{.kind = AuthStepKind::send_to_server,
                        .payload = std::string(1, static_cast<char>(sha2_request_public_key))};
    }
    return step(AuthStepKind::forward_to_server);
}

}  // namespace uniqguard::protocol::mysql
