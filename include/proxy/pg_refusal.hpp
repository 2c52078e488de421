// Turns a connection away the way the server does past max_connections: the client's
// SSLRequest/GSSENCRequest is answered 'N' and its StartupMessage read first, because libpq
// (since the CVE-2024-10977 fix) does not read an error sent in place of the SSL answer byte.
#pragma once

#include <string>

#include "proxy/stream.hpp"

namespace uniqguard::proxy {

// Sends FATAL `sqlstate` `message` after the startup packet (or after 5 s) and closes.
asio::awaitable<void> refuse_postgres_client(tcp::socket socket, std::string sqlstate,
                                             std::string message);

}  // namespace uniqguard::proxy
