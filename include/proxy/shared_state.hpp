// What every session may read or touch, whatever its thread: the configuration, the TLS
// contexts, the cancel registry, the connection counters, the guards and the duplicate log.
// Owned by the Server. What a reload replaces (proxy/config_reload.hpp) is read as one snapshot:
// a session takes it when it starts and keeps it, except for the guards, which it adopts between
// two transactions when the generation changes.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include "config/config.hpp"
#include "guard/duplicate_log.hpp"
#include "guard/guard_registry.hpp"
#include "proxy/cancel_registry.hpp"
#include "proxy/mysql_wait_registry.hpp"
#include "proxy/stream.hpp"

namespace uniqguard::proxy {

struct ConnectionCounters {
    std::atomic<std::uint64_t> current{0};
    std::atomic<std::uint64_t> total{0};
    std::atomic<std::uint64_t> rejected{0};  // over max_clients
};

// One consistent set of what the running config decides.
struct Reloadable {
    std::shared_ptr<const config::Config> config;
    std::shared_ptr<ssl::context> client_tls;            // null when listen.tls_* are not set
    std::shared_ptr<ssl::context> backend_tls;           // never null once the server runs
    std::shared_ptr<const guard::GuardRegistry> guards;  // never null; empty: nothing guarded
};

class ReloadableState {
  public:
    struct Snapshot {
        std::uint64_t generation;
        Reloadable value;
    };
    Snapshot current() const {
        std::lock_guard lock(mutex_);
        return {generation_.load(std::memory_order_relaxed), value_};
    }
    // Changes with every publish: sessions compare it per batch (one acquire load) and take
    // current() only when it moved.
    std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
    void publish(Reloadable next) {
        std::lock_guard lock(mutex_);
        value_ = std::move(next);
        generation_.fetch_add(1, std::memory_order_acq_rel);
    }

  private:
    mutable std::mutex mutex_;
    Reloadable value_;
    std::atomic<std::uint64_t> generation_{0};
};

struct SharedState {
    ReloadableState reloadable;
    // The config the process started with: the listener, backend and admin addresses, and the
    // duplicate log's settings, which a reload may not change.
    std::shared_ptr<const config::Config> config;
    CancelRegistry cancels;
    MySqlWaitRegistry mysql_waits;  // KILL QUERY of a MySQL statement waiting in the proxy
    ConnectionCounters connections;
    std::atomic<bool> shutting_down{false};           // set once SIGINT/SIGTERM arrives
    std::unique_ptr<guard::DuplicateLog> duplicates;  // opened at start, guards or not
};

}  // namespace uniqguard::proxy
