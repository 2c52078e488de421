// The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL speaks it, sans-io: it
// turns the server's messages into the client's answers and never touches a socket.
//
// Calling order:
//   ScramClient scram(password);                  // random nonce; or pass one (tests)
//   send SASLInitialResponse("SCRAM-SHA-256", scram.client_first_message());
//   on AuthenticationSASLContinue(data): auto step = scram.handle_server_first(data);
//       !step.ok() -> give up with step.error; else send SASLResponse(step.message)
//   on AuthenticationSASLFinal(data):    auto step = scram.handle_server_final(data);
//       !step.ok() -> the server does not know the password: refuse it (mutual authentication)
//   on AuthenticationOk: only accept it when scram.server_verified().
//
// Two ways to prove the client: with the password (the proxy's own account), or with the keys
// the proxy recovered from a client it authenticated itself (listen.auth = "terminate"): the
// ClientKey proves, the ServerKey checks the server's signature; salt and iteration count are
// then not needed, since both keys are what the password would give with them.
//
// Channel binding: without binding data the gs2 header is "n,,". With the tls-server-end-point
// hash of the server's certificate (protocol/postgres/channel_binding.hpp) the mechanism is
// SCRAM-SHA-256-PLUS and the header "p=tls-server-end-point,,". PostgreSQL ignores the SCRAM user
// name (it authenticates the startup packet's user), so "n=" is sent empty, as libpq does. The
// password is used as given: SASLprep leaves ASCII passwords unchanged; a non-ASCII password that
// SASLprep would normalise differently may not match what the server stored.
//
// Nothing here logs; the secrets it derives are cleansed when the object goes away.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/postgres/scram_common.hpp"
#include "util/base64.hpp"

namespace uniqguard::pgclient {

using util::base64_decode;
using util::base64_encode;

// The keys of a client the proxy authenticated itself (protocol/postgres/scram_server.hpp).
struct ScramKeys {
    protocol::postgres::scram::SecretKey client_key;
    protocol::postgres::scram::SecretKey server_key;
};

struct ScramStep {
    std::string message;  // what to send next (empty after handle_server_final)
    std::string error;    // non-empty: the exchange cannot go on
    bool ok() const { return error.empty(); }
};

class ScramClient {
  public:
    // The most iterations a server may ask for; a larger count only makes the client hang.
    static constexpr std::uint32_t max_iterations = 10'000'000;

    // `client_nonce` empty: 18 random bytes, base64 (as libpq). `user` is the SCRAM user name
    // (PostgreSQL: empty).
    explicit ScramClient(std::string_view password, std::string client_nonce = {},
                         std::string_view user = {});
    // With recovered keys instead of a password. `channel_binding` empty: no binding ("n,,");
    // else the tls-server-end-point data of the server's certificate (-PLUS).
    ScramClient(const ScramKeys& keys, std::string channel_binding, std::string client_nonce = {});
    ~ScramClient();
    ScramClient(const ScramClient&) = delete;
    ScramClient& operator=(const ScramClient&) = delete;

    // "SCRAM-SHA-256", or "SCRAM-SHA-256-PLUS" when binding to the channel.
    std::string_view mechanism() const;
    // "<gs2 header>n=<user>,r=<nonce>"
    std::string client_first_message() const;
    // Server-first "r=<nonce>,s=<salt>,i=<iterations>" -> client-final "c=biws,r=...,p=<proof>".
    ScramStep handle_server_first(std::string_view server_first);
    // Server-final "v=<signature>" (or "e=<error>"): checks the server's signature.
    ScramStep handle_server_final(std::string_view server_final);
    bool server_verified() const { return verified_; }

  private:
    std::string gs2_header() const;

    std::string password_;
    std::optional<ScramKeys> keys_;
    std::string channel_binding_;
    std::string nonce_;
    std::string client_first_bare_;
    std::vector<unsigned char> expected_server_signature_;
    bool awaiting_final_ = false;
    bool verified_ = false;
};

}  // namespace uniqguard::pgclient
