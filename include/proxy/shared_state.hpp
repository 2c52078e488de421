// What every session may read or touch, whatever its thread: the configuration, the TLS
// contexts, the cancel registry, the connection counters, the guards and the duplicate log.
// Owned by the Server.
#pragma once

#include <atomic>
#include <memory>

#include "config/config.hpp"
#include "guard/duplicate_log.hpp"
#include "guard/guard_registry.hpp"
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
    std::atomic<bool> shutting_down{false};           // set once SIGINT/SIGTERM arrives
    std::unique_ptr<guard::GuardRegistry> guards;     // null or empty: nothing is guarded
    std::unique_ptr<guard::DuplicateLog> duplicates;  // null when there is no guard
};

}  // namespace uniqguard::proxy
