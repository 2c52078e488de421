// The key set of one guard: the 64-bit fingerprints (key_fingerprint.hpp) of the keys present
// in the table, shared by every worker thread. SPEC §7: ≤ 16 bytes resident per key at any
// size, whatever the key's width; ≥ 1 M keys/s loaded; 10 M keys.
//
// Layout. 64 shards chosen by the fingerprint's top 6 bits, each an open-addressing table of
// uint64 slots (0 = empty, which is why fingerprints are never 0) with linear probing, its own
// std::mutex and short critical sections: one probe sequence, or one shard's rehash. A slot is
// 8 bytes, so "≤ 16 bytes per key" means every shard's load stays ≥ 0.5:
//   - grow when an insert would take the load past 0.8, by 1.5× (not 2×): right after growth
//     the load is 0.8 / 1.5 = 0.533, i.e. 8 / 0.533 = 15 bytes per key; 2× would leave 0.4,
//     20 bytes per key. Between growths the load climbs from 0.533 to 0.8 (15 → 10 bytes).
//   - shrink when erasing takes the load below 0.52 (15.4 bytes per key), rebuilding at 0.65.
//     0.52 is below the 0.533 that growth leaves, so a grow is never followed at once by a
//     shrink, and 0.65 is far enough below 0.8 that a shrink is not followed at once by a grow.
// Sizes are not powers of two, so a slot is chosen by fast range reduction,
// (uint64(h) * capacity) >> 64 (the high half of a 64×64 product), with h the fingerprint
// shifted left past the 6 shard bits (those are equal within a shard). Linear probing at a
// load of at most 0.8 costs about 3 probes for a hit and 13 for a miss on average (Knuth), all
// within two or three cache lines. Erase shifts the following entries back (no tombstones).
// Sharding also bounds a rehash: one shard at a time, 1/64 of the set, so a growing set never
// holds two copies of itself and a rehash blocks only the threads touching that shard.
//
// Collisions. Two different keys with one fingerprint are one entry: `insert` of the second
// answers "already present" and the caller confirms with the server before reporting a
// duplicate. If the server says it is not a duplicate (a fingerprint collision, or a stale
// entry for a row deleted behind the proxy's back), the caller records the second key with
// `add`, which counts it, so that erasing one of the two keys later leaves the fingerprint in
// place for the other. `erase` therefore means "one key fewer under this fingerprint", never
// "no key has this fingerprint". A count that is too high (a stale entry counted again) only
// costs a confirmation later; a count too low could let a duplicate through, which is why the
// loader uses `add`/`add_many` (legacy duplicates in the table count too). Counts above one are
// kept in a small side table per shard, empty in the common case.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>

namespace uniqguard::guard {

class KeySet {
  public:
    static constexpr std::size_t kShardBits = 6;
    static constexpr std::size_t kShards = std::size_t{1} << kShardBits;

    KeySet();
    ~KeySet();
    KeySet(const KeySet&) = delete;
    KeySet& operator=(const KeySet&) = delete;

    // Adds `fp` if absent: true when newly inserted; false (and nothing changes) when present.
    bool insert(std::uint64_t fp);
    // Records one more key under `fp`, present or not (the loader; a key the server confirmed
    // is not a duplicate although its fingerprint was present).
    void add(std::uint64_t fp);
    // `add` for a batch, locking each shard once; returns how many fingerprints were new.
    std::size_t add_many(std::span<const std::uint64_t> fps);
    bool contains(std::uint64_t fp) const;
    // One key fewer under `fp`: the fingerprint goes when its last key goes. False when absent.
    bool erase(std::uint64_t fp);

    // Distinct fingerprints present.
    std::size_t size() const;
    // Bytes this set holds: slot arrays, shard headers, the side table of counts.
    std::size_t memory_bytes() const;
    // Forgets everything and returns the memory.
    void clear();
    // Room for `n` keys in all without growth (spread over the shards, with a margin for
    // their uneven shares); never shrinks.
    void reserve(std::size_t n);

    // Rebuilding the set in place (after a TRUNCATE: key_set_rebuild.hpp). begin_rebuild()
    // starts a second, empty set, returned for the caller to fill (add/add_many) while every
    // insert, add and erase on this set also goes to it: an insert there whatever this set
    // answers, since the key is about to exist either way. finish_rebuild() then makes the
    // second set this set's contents, one shard at a time under that shard's lock (no global
    // pause), and frees the old contents; abandon_rebuild() drops the second set. One rebuild
    // at a time, and the returned set must not be used after finish or abandon.
    KeySet& begin_rebuild();
    void finish_rebuild();
    void abandon_rebuild();
    bool rebuilding() const { return rebuild_ != nullptr; }

  private:
    struct Shard;
    Shard& shard_of(std::uint64_t fp) const;
    // The rebuild set, when shard `index` writes to it too (under that shard's lock).
    KeySet* rebuild_for(std::size_t index) const;
    static std::size_t shard_index(std::uint64_t fp) { return fp >> (64 - kShardBits); }

    std::unique_ptr<Shard[]> shards_;
    std::unique_ptr<KeySet> rebuild_;
    // Bit i: shard i also writes to rebuild_. Changed and read under shard i's lock only.
    std::atomic<std::uint64_t> rebuild_shards_{0};
};

}  // namespace uniqguard::guard
