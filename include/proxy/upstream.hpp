// Opens the connection to the database: resolve, connect with a deadline, and negotiate TLS as
// backend.tls says (SSLRequest first, as libpq does). Used by sessions and by cancel forwarding.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "proxy/stream.hpp"

namespace uniqguard::proxy {

struct UpstreamConnection {
    std::unique_ptr<Stream> stream;  // null on failure
    std::string error;               // why, for the client's 08006 message and the log
};

// How long one connection attempt may take before the client is told the server is unreachable.
inline constexpr std::chrono::seconds upstream_connect_timeout{10};

// Resolves and connects within upstream_connect_timeout, with TCP_NODELAY. Returns why it failed,
// or an empty string. (MySQL sessions use this directly: the server speaks first, and TLS is
// negotiated inside its handshake.) `socket` must outlive the await.
asio::awaitable<std::string> connect_tcp_with_deadline(tcp::socket& socket,
                                                       const config::Endpoint& address);

asio::awaitable<UpstreamConnection> connect_postgres_upstream(const config::Backend& backend,
                                                              ssl::context& tls_context);

}  // namespace uniqguard::proxy
