// Relays the authentication exchange that follows the HandshakeResponse, packet by packet,
// without knowing the password: mysql_native_password, caching_sha2_password (fast and full
// path), MariaDB's client_ed25519, and whatever else the two ends agree on through an
// AuthSwitchRequest.
//
// Sans-io: the session feeds each server packet and each client packet (payloads, sequence ids
// are the session's business: each leg is numbered on its own) and does what the step says.
//
// The one exchange the proxy takes part in: caching_sha2_password's full path, where the client
// sends its password in clear because its connection (to the proxy) is TLS, while the server leg
// is plaintext and the server will only take the password RSA-encrypted. The proxy then asks the
// server for its public key and sends the password encrypted, as a client would. The reverse
// (a plaintext client leg and a TLS server leg) cannot be relayed: the client would encrypt with
// a key only the server has, while the server expects the password in clear. The proxy refuses
// it with a clear error (docs/mysql.md).
#pragma once

#include <string>

#include "protocol/mysql/packet_writer.hpp"
#include "util/bytes.hpp"

namespace uniqguard::protocol::mysql {

inline constexpr std::string_view caching_sha2_password = "caching_sha2_password";

enum class AuthStepKind {
    forward_to_client,         // relay the server's packet; the server speaks next
    forward_then_read_client,  // relay the server's packet; the client answers it
    authenticated,             // relay the server's OK: the command phase begins
    failed,                    // relay the server's ERR: the server closes
    forward_to_server,         // relay the client's packet; the server speaks next
    send_to_server,            // send `payload` (the proxy's own) to the server
    refuse,                    // send `error` to the client and close
};

struct AuthStep {
    AuthStepKind kind = AuthStepKind::forward_to_client;
    std::string payload;  // send_to_server
    ServerError error;    // refuse
};

class AuthRelay {
  public:
    // `plugin`: the one the client's HandshakeResponse used; `scramble`: the handshake's.
    AuthRelay(std::string plugin, std::string scramble, bool client_tls, bool server_tls);
    ~AuthRelay();
    AuthRelay(const AuthRelay&) = delete;
    AuthRelay& operator=(const AuthRelay&) = delete;

    AuthStep on_server_packet(util::Bytes payload);
    AuthStep on_client_packet(util::Bytes payload);

    const std::string& plugin() const { return plugin_; }

  private:
    enum class Sha2 { idle, full_auth, fetching_public_key };

    std::string plugin_;
    std::string scramble_;
    bool client_tls_;
    bool server_tls_;
    Sha2 sha2_ = Sha2::idle;
    std::string password_;  // only while the proxy fetches the server's key; wiped after
};

}  // namespace uniqguard::protocol::mysql
