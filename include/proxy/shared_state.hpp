// What every session may read or touch, whatever its thread: the configuration, the TLS
// contexts, the cancel registry and the connection counters. Owned by the Server.
#pragma once

#include <atomic>
#include <memory>

#include "config/config.hpp"
#include "proxy/cancel_registry.hpp"
#include "proxy/stream.hpp"

namespace uniqguard::proxy {

struct ConnectionCounters {
    std::atomic<std::uint64_t> current{0};
    std::atomic<std::uint64_t> total{0};
    std::atomic<std::uint64_t> rejected{0};  // over max_clients
};

struct SharedState {
    std::shared_ptr<const config::Config> config;
    std::unique_ptr<ssl::context> client_tls;  // null when listen.tls_* are not set
    ssl::context backend_tls{ssl::context::tls_client};
    CancelRegistry cancels;
    ConnectionCounters connections;
    std::atomic<bool> shutting_down{false};  // set once SIGINT/SIGTERM arrives
};

}  // namespace uniqguard::proxy
