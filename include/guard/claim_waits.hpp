// Who waits for whom among the sessions waiting for a claimed key (key_claims.hpp), to find
// deadlocks: session A waits for a key B holds while B waits for one A holds. PostgreSQL looks
// for such a cycle when a lock wait has lasted deadlock_timeout and fails the transaction of the
// session that looked (40P01); the proxy does the same for its own waits (proxy/pg_session.cpp).
//
// One per process (the waits of every guard, since a cycle may go through two guards' keys),
// behind one mutex: it is touched only when a wait begins, ends, or has lasted a second.
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "guard/key_claims.hpp"

namespace uniqguard::guard {

class ClaimWaits {
  public:
    static ClaimWaits& process();

    // `owner` waits for `fp` of `claims` (until done()).
    void waiting(std::uint64_t owner, const KeyClaims& claims, std::uint64_t fp);
    void done(std::uint64_t owner);
    // Whether following "waits for the holder of" from `owner` comes back to `owner`.
    bool in_cycle(std::uint64_t owner) const;
    // in_cycle, and when it is, `owner` leaves the graph in the same step: of two sessions that
    // look at once, only the first finds the cycle and fails (the server picks one victim).
    bool leave_if_in_cycle(std::uint64_t owner);

  private:
    bool cycle_through(std::uint64_t owner) const;  // with mutex_ held

    mutable std::mutex mutex_;
    std::unordered_map<std::uint64_t, std::pair<const KeyClaims*, std::uint64_t>> edges_;
};

}  // namespace uniqguard::guard
