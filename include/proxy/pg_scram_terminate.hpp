// listen.auth = "terminate", PostgreSQL: SCRAM-SHA-256 ends at the proxy. Called by
// PgSession::connect_and_authenticate when the server asks for SASL with SCRAM-SHA-256; every
// other request (trust, cleartext, md5) stays relayed.
//
//   server: AuthenticationSASL            (read by the caller, who hands over its mechanisms)
//   proxy:  listen.auth_query -> the role's verifier (pg_auth_query.hpp)
//   client <-> proxy: the whole SCRAM exchange, the proxy as the server (ScramServer), with
//           SCRAM-SHA-256-PLUS bound to the proxy's certificate when the client uses TLS
//   proxy <-> server: a SCRAM exchange with the ClientKey recovered from the client's proof
//           (ScramClient with keys), bound to the server's certificate when it offers -PLUS
//   client: AuthenticationSASLFinal, then the server's AuthenticationOk and the rest, relayed
//           by the caller as before.
//
// Failures reach the client as the server would send them (FATAL with its SQLSTATE and text);
// the server's own errors are relayed as they are. Proofs and keys never appear in a log line.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "proxy/stream.hpp"
#include "util/byte_buffer.hpp"

namespace uniqguard::proxy {

// What the exchange needs of the session; all of it outlives the await (the session awaits).
struct ScramTerminateLegs {
    Stream& client;
    util::ByteBuffer& client_buffer;
    Stream& server;
    util::ByteBuffer& server_buffer;
    const config::Config& config;
    ssl::context& backend_tls;  // for the auth query's own connection
    const std::string& user;    // the startup packet's
    const std::string& who;     // the session, for log lines
};

// True when the server offers SCRAM-SHA-256 and the proxy is to terminate it.
bool should_terminate_scram(const config::Config& config,
                            const std::vector<std::string>& server_mechanisms);

// Runs both exchanges. True: the server accepted the login and the client has its
// AuthenticationSASLFinal; the server's AuthenticationOk is next in `server_buffer`/the socket.
// False: the client has been told why (or is gone); end the session.
asio::awaitable<bool> terminate_scram(ScramTerminateLegs legs,
                                      std::vector<std::string> server_mechanisms);

}  // namespace uniqguard::proxy
