// The keys of one guard that transactions not ended yet are writing (SPEC §4, "Transactions and
// concurrency"): fingerprint → the session that claimed it. A session claims every key of a
// guarded write before the key set hears of it and before the write goes to the server, and lets
// go when the server reports its transaction over. A second session whose key is claimed by
// another waits (outside this class: it registers a ClaimWaiter, woken once when the claim is
// released) and then has the server check the key, as a second inserter waits for the first's
// transaction on a real unique index.
//
// Separate from the KeySet on purpose: the key set holds millions of keys and must stay at
// ≤ 16 bytes per key; claims are few (the keys of transactions in flight) and come and go.
//
// Layout: 64 shards by the fingerprint's top bits, each a std::mutex and a small open-addressing
// table (linear probing, erase by shifting back: no tombstones) that never shrinks, so that after
// warm-up a claim and its release allocate nothing. Waiters are rare: kept in a per-shard list
// beside the table, looked at only when a slot says it has some. Wake-ups run after the shard's
// lock is released.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace uniqguard::guard {

// Told, from any thread, that a claim it waited for was released. Implementations post to their
// own thread (proxy/claim_waiter.hpp); wake() must not block.
class ClaimWaiter {
  public:
    virtual ~ClaimWaiter() = default;
    virtual void wake() = 0;
};

// A process-wide clock of commits of claimed keys: one tick per ReadyForQuery that ends
// transactions with guarded writes (the PostgreSQL session's; pg_session_claims.hpp), read by a
// session when its transaction begins.
std::atomic<std::uint64_t>& commit_clock();

class KeyClaims {
  public:
    static constexpr std::size_t kShardBits = 6;
    static constexpr std::size_t kShards = std::size_t{1} << kShardBits;

    enum class Claim : std::uint8_t {
        taken,         // the key was free: `owner` holds it now
        already_ours,  // `owner` held it already
        held,          // another owner holds it; `waiter` (if any) will be woken at its release
    };

    KeyClaims();
    ~KeyClaims();
    KeyClaims(const KeyClaims&) = delete;
    KeyClaims& operator=(const KeyClaims&) = delete;

    // `fp` is never 0 (key_fingerprint.hpp); `owner` is never 0.
    Claim claim(std::uint64_t fp, std::uint64_t owner,
                const std::shared_ptr<ClaimWaiter>& waiter = nullptr);
    // Releases `fp` if `owner` holds it, and wakes whoever waited for it. `committed`: the
    // owner's transaction committed the key, at that tick of commit_clock() (0: it did not).
    void release(std::uint64_t fp, std::uint64_t owner, std::uint64_t committed = 0);
    // Records that `owner`'s transaction committed `fp` at tick `committed`, the key staying
    // held (a later transaction of the owner claimed it again before the commit was answered).
    void record_commit(std::uint64_t fp, std::uint64_t owner, std::uint64_t committed);
    // Whether a transaction committed `fp` after tick `since` of commit_clock(), as far as the
    // recent commits remembered tell (the last kCommitsPerShard per shard): a session whose
    // snapshot is older (REPEATABLE READ) does not see that row, where a unique index does.
    bool committed_after(std::uint64_t fp, std::uint64_t since) const;
    static constexpr std::size_t kCommitsPerShard = 256;
    // The owner holding `fp`, or 0.
    std::uint64_t holder(std::uint64_t fp) const;
    // Claims held now (all shards; for tests and metrics, not exact under concurrency).
    std::size_t size() const;

  private:
    struct Slot {
        std::uint64_t fp = 0;  // 0: empty
        std::uint64_t owner = 0;
        bool waited = false;  // some waiter in `waiters` is for this fp
    };
    struct Commit {
        std::uint64_t fp = 0;
        std::uint64_t tick = 0;
    };
    struct alignas(64) Shard {
        mutable std::mutex mutex;
        std::vector<Slot> slots;  // power-of-two size, or empty
        std::size_t used = 0;
        std::vector<std::pair<std::uint64_t, std::shared_ptr<ClaimWaiter>>> waiters;
        // The last commits of this shard's keys, a ring (allocated at the first commit).
        std::vector<Commit> commits;
        std::size_t next_commit = 0;
    };
    static std::size_t shard_of(std::uint64_t fp) { return fp >> (64 - kShardBits); }
    static Slot* find(Shard& s, std::uint64_t fp);
    static void grow(Shard& s);
    static void erase_at(Shard& s, std::size_t at);
    // Appends to the shard's ring of commits (its lock held).
    static void add_commit(Shard& s, std::uint64_t fp, std::uint64_t committed);

    std::unique_ptr<Shard[]> shards_;
};

}  // namespace uniqguard::guard
