// listen.auth_query: the role's SCRAM verifier, read by the proxy's own account (backend.user)
// on a connection of its own, for authenticating a client at the proxy (listen.auth =
// "terminate"). One connection per login, closed at once: a verifier is never kept, so a
// changed password applies to the next login, and nothing secret stays in memory.
#pragma once

#include <optional>
#include <string>

#include "config/config.hpp"
#include "protocol/postgres/scram_common.hpp"
#include "proxy/stream.hpp"

namespace uniqguard::proxy {

struct AuthQueryAnswer {
    // The role's verifier; nullopt when the role does not exist, has no password, or has one
    // that is not SCRAM-SHA-256 (md5): the client then gets a mock exchange that fails as the
    // server's would.
    std::optional<protocol::postgres::scram::Verifier> verifier;
    std::string error;  // non-empty: the query could not run (for the log, never the client)
};

// Runs `listen.auth_query` with $1 = `user`; the password column is the second one (or the
// only one). `backend_tls` must outlive the call.
asio::awaitable<AuthQueryAnswer> read_scram_verifier(const config::Config& config,
                                                     ssl::context& backend_tls, std::string user);

}  // namespace uniqguard::proxy
