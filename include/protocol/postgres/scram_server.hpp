// The server side of SCRAM-SHA-256 as PostgreSQL speaks it, sans-io: the proxy authenticates a
// client itself against the role's stored verifier (listen.auth = "terminate"), checks the
// client's proof, and recovers the ClientKey from it, with which it logs in to the server
// (pgclient::ScramClient with keys). Never touches a socket, never logs.
//
// Calling order (each failure ends the exchange: send it as a FATAL ErrorResponse and close):
//   ScramServer scram(verifier_or_nullopt, user, channel_binding_data);
//   send AuthenticationSASL(scram.mechanisms());
//   on SASLInitialResponse(mechanism, data): step = scram.handle_client_first(mechanism, data);
//       step.failure -> FATAL; else send AuthenticationSASLContinue(step.message)
//   on SASLResponse(data):                   step = scram.handle_client_final(data);
//       step.failure -> FATAL; else scram.client_key() is the client's ClientKey; send
//       AuthenticationSASLFinal(step.message) once the server has accepted the login.
//
// Errors are the server's own (src/backend/libpq/auth-scram.c): the same SQLSTATE, message and
// detail, so a client cannot tell the proxy from the server. A role without a usable verifier
// (none, md5, no such role) runs a mock exchange with a salt derived from the user name, and
// fails only at the proof with `password authentication failed for user "x"` (28P01), as the
// server does, so that a client cannot learn whether a role exists.
//
// Channel binding: `channel_binding_data` is the tls-server-end-point hash of the proxy's own
// certificate on the client's TLS connection (channel_binding.hpp), empty on a plaintext one.
// With it, SCRAM-SHA-256-PLUS is offered first, and the gs2 flag 'y' ("I could bind, you
// offered no PLUS") is refused as a downgrade.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/postgres/scram_common.hpp"

namespace uniqguard::protocol::postgres {

struct ScramFailure {
    std::string sqlstate;
    std::string message;
    std::string detail;  // empty: none
};

struct ScramServerStep {
    std::string message;                  // the SASL data to send (without its message header)
    std::optional<ScramFailure> failure;  // set: the exchange is over
    bool ok() const { return !failure; }
};

class ScramServer {
  public:
    // `verifier` nullopt: a mock exchange that always fails at the proof. `server_nonce` empty:
    // 18 random bytes in base64 (tests pass their own).
    ScramServer(std::optional<scram::Verifier> verifier, std::string user,
                std::string channel_binding_data, std::string server_nonce = {});
    ScramServer(const ScramServer&) = delete;
    ScramServer& operator=(const ScramServer&) = delete;

    // The mechanisms to offer, in the server's order (-PLUS first when binding is possible).
    std::vector<std::string> mechanisms() const;
    ScramServerStep handle_client_first(std::string_view mechanism, std::string_view message);
    ScramServerStep handle_client_final(std::string_view message);

    // After a successful handle_client_final: the client's ClientKey (H(ClientKey) ==
    // StoredKey was checked), and the verifier it was checked against.
    bool authenticated() const { return authenticated_; }
    const scram::Key& client_key() const { return client_key_.bytes; }
    const scram::Verifier& verifier() const { return verifier_; }

    // The salt of a mock exchange for `user`: fixed for the life of the process (a client that
    // asks twice sees the same salt, as for a real role), unrelated across processes.
    static std::string mock_salt_base64(std::string_view user);

  private:
    ScramServerStep fail(std::string sqlstate, std::string message, std::string detail = {});
    ScramServerStep malformed(std::string detail);

    scram::Verifier verifier_;
    bool doomed_;  // no usable verifier: fails at the proof
    std::string user_;
    std::string channel_binding_data_;
    std::string server_nonce_;
    enum class State { initial, salt_sent, finished, failed } state_ = State::initial;
    bool binding_in_use_ = false;  // the client chose -PLUS
    char gs2_flag_ = 0;
    std::string client_nonce_;
    std::string client_first_bare_;
    std::string server_first_;
    scram::SecretKey client_key_;
    bool authenticated_ = false;
};

}  // namespace uniqguard::protocol::postgres
