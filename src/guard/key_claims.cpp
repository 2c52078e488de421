#include "guard/key_claims.hpp"

#include <algorithm>

namespace uniqguard::guard {

namespace {
// The first table of a shard: 16 slots (a few hundred bytes) covers the claims of a few
// concurrent transactions; it doubles at a load of one half, which keeps probes short.
constexpr std::size_t initial_slots = 16;
}  // namespace

KeyClaims::KeyClaims() : shards_(new Shard[kShards]) {}
KeyClaims::~KeyClaims() = default;

KeyClaims::Slot* KeyClaims::find(Shard& s, std::uint64_t fp) {
    if (s.slots.empty()) return nullptr;
    const std::size_t mask = s.slots.size() - 1;
    // The low bits: the top ones chose the shard and are equal within it.
    for (std::size_t i = fp & mask;; i = (i + 1) & mask) {
        if (s.slots[i].fp == fp) return &s.slots[i];
        if (s.slots[i].fp == 0) return nullptr;
    }
}

void KeyClaims::grow(Shard& s) {
    std::vector<Slot> old;
    old.swap(s.slots);
    s.slots.assign(old.empty() ? initial_slots : old.size() * 2, Slot{});
    const std::size_t mask = s.slots.size() - 1;
    for (const Slot& slot : old) {
        if (slot.fp == 0) continue;
        std::size_t i = slot.fp & mask;
        while (s.slots[i].fp != 0) i = (i + 1) & mask;
        s.slots[i] = slot;
    }
}

void KeyClaims::erase_at(Shard& s, std::size_t at) {
    // Backward-shift deletion: every entry after the hole that could live at the hole moves
    // into it, so a probe never stops early at a slot that used to be taken.
    const std::size_t mask = s.slots.size() - 1;
    std::size_t hole = at;
    for (std::size_t i = (at + 1) & mask; s.slots[i].fp != 0; i = (i + 1) & mask) {
        const std::size_t home = s.slots[i].fp & mask;
        // Whether `home` lies cyclically in (hole, i]: then the entry must stay.
        const bool stays = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);
        if (stays) continue;
        s.slots[hole] = s.slots[i];
        hole = i;
    }
    s.slots[hole] = Slot{};
    --s.used;
}

KeyClaims::Claim KeyClaims::claim(std::uint64_t fp, std::uint64_t owner,
                                  const std::shared_ptr<ClaimWaiter>& waiter) {
    Shard& s = shards_[shard_of(fp)];
    std::lock_guard lock(s.mutex);
    if (Slot* slot = find(s, fp)) {
        if (slot->owner == owner) return Claim::already_ours;
        if (waiter) {
            const bool known = std::any_of(s.waiters.begin(), s.waiters.end(), [&](const auto& w) {
                return w.first == fp && w.second == waiter;
            });
            if (!known) s.waiters.emplace_back(fp, waiter);
            slot->waited = true;
        }
        return Claim::held;
    }
    if ((s.used + 1) * 2 > s.slots.size()) grow(s);
    const std::size_t mask = s.slots.size() - 1;
    std::size_t i = fp & mask;
    while (s.slots[i].fp != 0) i = (i + 1) & mask;
    s.slots[i] = Slot{fp, owner, false};
    ++s.used;
    return Claim::taken;
}

std::atomic<std::uint64_t>& commit_clock() {
    static std::atomic<std::uint64_t> clock{1};
    return clock;
}

void KeyClaims::release(std::uint64_t fp, std::uint64_t owner, std::uint64_t committed) {
    Shard& s = shards_[shard_of(fp)];
    std::vector<std::shared_ptr<ClaimWaiter>> wake;  // stays empty (no allocation) without waiters
    {
        std::lock_guard lock(s.mutex);
        Slot* slot = find(s, fp);
        if (!slot || slot->owner != owner) return;
        // Before the waiters wake: the one that waited for this key must find it here.
        if (committed != 0) add_commit(s, fp, committed);
        if (slot->waited) {
            for (auto it = s.waiters.begin(); it != s.waiters.end();) {
                if (it->first == fp) {
                    wake.push_back(std::move(it->second));
                    it = s.waiters.erase(it);
                } else {
                    ++it;
                }
            }
        }
        erase_at(s, static_cast<std::size_t>(slot - s.slots.data()));
    }
    // Outside the lock: a waiter posts to its own thread, which may take this shard's lock.
    for (auto& w : wake) w->wake();
}

void KeyClaims::add_commit(Shard& s, std::uint64_t fp, std::uint64_t committed) {
    if (s.commits.empty()) s.commits.resize(kCommitsPerShard);
    s.commits[s.next_commit] = {fp, committed};
    s.next_commit = (s.next_commit + 1) % kCommitsPerShard;
}

void KeyClaims::record_commit(std::uint64_t fp, std::uint64_t owner, std::uint64_t committed) {
    Shard& s = shards_[shard_of(fp)];
    std::lock_guard lock(s.mutex);
    const Slot* slot = find(s, fp);
    if (slot && slot->owner == owner && committed != 0) add_commit(s, fp, committed);
}

bool KeyClaims::committed_after(std::uint64_t fp, std::uint64_t since) const {
    const Shard& s = shards_[shard_of(fp)];
    std::lock_guard lock(s.mutex);
    for (const auto& c : s.commits)
        if (c.fp == fp && c.tick > since) return true;
    return false;
}

std::uint64_t KeyClaims::holder(std::uint64_t fp) const {
    Shard& s = shards_[shard_of(fp)];
    std::lock_guard lock(s.mutex);
    const Slot* slot = find(s, fp);
    return slot ? slot->owner : 0;
}

std::size_t KeyClaims::size() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < kShards; ++i) {
        std::lock_guard lock(shards_[i].mutex);
        n += shards_[i].used;
    }
    return n;
}

}  // namespace uniqguard::guard
