#include "guard/claim_waits.hpp"

namespace uniqguard::guard {

ClaimWaits& ClaimWaits::process() {
    static ClaimWaits waits;
    return waits;
}

void ClaimWaits::waiting(std::uint64_t owner, const KeyClaims& claims, std::uint64_t fp) {
    std::lock_guard lock(mutex_);
    edges_[owner] = {&claims, fp};
}

void ClaimWaits::done(std::uint64_t owner) {
    std::lock_guard lock(mutex_);
    edges_.erase(owner);
}

bool ClaimWaits::in_cycle(std::uint64_t owner) const {
    std::lock_guard lock(mutex_);
    return cycle_through(owner);
}

bool ClaimWaits::leave_if_in_cycle(std::uint64_t owner) {
    std::lock_guard lock(mutex_);
    if (!cycle_through(owner)) return false;
    edges_.erase(owner);
    return true;
}

bool ClaimWaits::cycle_through(std::uint64_t owner) const {
    // Lock order: this mutex (held by the caller), then a claims shard (holder() takes it);
    // KeyClaims never calls back here, so the order is never reversed. A waiting session's
    // KeyClaims is alive: the session holds its guard registry until its wait ends.
    std::uint64_t at = owner;
    for (std::size_t steps = 0; steps <= edges_.size(); ++steps) {
        auto it = edges_.find(at);
        if (it == edges_.end()) return false;
        const std::uint64_t holder = it->second.first->holder(it->second.second);
        if (holder == 0) return false;  // released meanwhile: its waiter is being woken
        if (holder == owner) return true;
        at = holder;
    }
    return false;  // a cycle that does not go through `owner`: one of its members finds it
}

}  // namespace uniqguard::guard
