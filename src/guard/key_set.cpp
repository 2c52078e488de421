#include "guard/key_set.hpp"

#include <cmath>
#include <unordered_map>
#include <vector>

namespace uniqguard::guard {
namespace {

constexpr std::size_t kMinCapacity = 16;
// Load limits as fractions n / d (see the header for the arithmetic).
constexpr std::size_t kGrowNum = 4, kGrowDen = 5;          // grow past 0.8
constexpr std::size_t kShrinkNum = 13, kShrinkDen = 25;    // shrink below 0.52
constexpr std::size_t kRebuildNum = 13, kRebuildDen = 20;  // after a shrink: 0.65

// Fingerprints are well mixed: the bits below the shard bits pick the slot.
inline std::size_t home(std::uint64_t fp, std::size_t capacity) {
    const std::uint64_t h = fp << KeySet::kShardBits;
    return static_cast<std::size_t>((static_cast<unsigned __int128>(h) * capacity) >> 64);
}

inline bool over_grow_limit(std::size_t count, std::size_t capacity) {
    return count * kGrowDen > capacity * kGrowNum;
}

}  // namespace

// One cache line per shard: threads on different shards never share a line.
struct alignas(64) KeySet::Shard {
    mutable std::mutex mu;
    std::unique_ptr<std::uint64_t[]> slots;  // 0 = empty
    // 32 bits are plenty (2^32 slots per shard would be 2 TiB in all) and keep the header to
    // one cache line.
    std::uint32_t capacity = 0;
    std::uint32_t count = 0;
    // Keys beyond the first under one fingerprint (collisions, legacy duplicates): fp → extra.
    std::unique_ptr<std::unordered_map<std::uint64_t, std::uint32_t>> extra;

    std::size_t next(std::size_t i) const { return i + 1 == capacity ? 0 : i + 1; }

    // The slot holding `fp`, or the empty slot where it would go. capacity > 0.
    std::size_t probe(std::uint64_t fp) const {
        std::size_t i = home(fp, capacity);
        while (slots[i] != 0 && slots[i] != fp) i = next(i);
        return i;
    }

    bool find(std::uint64_t fp) const { return capacity != 0 && slots[probe(fp)] == fp; }

    void rehash(std::size_t new_capacity) {
        auto fresh = std::make_unique<std::uint64_t[]>(new_capacity);  // zeroed
        std::swap(slots, fresh);
        const std::size_t old_capacity = capacity;
        capacity = static_cast<std::uint32_t>(new_capacity);
        for (std::size_t i = 0; i < old_capacity; ++i) {
            if (fresh[i] != 0) slots[probe(fresh[i])] = fresh[i];
        }
    }

    // Inserts an absent fingerprint, growing first if needed.
    void insert_new(std::uint64_t fp) {
        if (capacity == 0 || over_grow_limit(count + 1, capacity)) {
            std::size_t c = capacity < kMinCapacity ? kMinCapacity : std::size_t{capacity};
            while (over_grow_limit(count + 1, c)) c = c + c / 2;
            rehash(c);
        }
        slots[probe(fp)] = fp;
        ++count;
    }

    bool insert(std::uint64_t fp) {
        if (find(fp)) return false;
        insert_new(fp);
        return true;
    }

    // True when the fingerprint is new.
    bool add(std::uint64_t fp) {
        if (!find(fp)) {
            insert_new(fp);
            return true;
        }
        if (!extra) extra = std::make_unique<std::unordered_map<std::uint64_t, std::uint32_t>>();
        ++(*extra)[fp];
        return false;
    }

    bool erase(std::uint64_t fp) {
        if (capacity == 0) return false;
        std::size_t i = probe(fp);
        if (slots[i] != fp) return false;
        if (extra) {
            if (auto it = extra->find(fp); it != extra->end()) {
                if (--it->second == 0) extra->erase(it);
                return true;
            }
        }
        // Backward-shift deletion: move back every later entry of the run whose home is not
        // cyclically within (i, j], so that no probe sequence crosses an empty slot.
        std::size_t j = i;
        while (true) {
            j = next(j);
            if (slots[j] == 0) break;
            const std::size_t k = home(slots[j], capacity);
            const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
            if (stays) continue;
            slots[i] = slots[j];
            i = j;
        }
        slots[i] = 0;
        --count;
        if (capacity > kMinCapacity &&
            std::size_t{count} * kShrinkDen < std::size_t{capacity} * kShrinkNum) {
            std::size_t c = std::size_t{count} * kRebuildDen / kRebuildNum + 1;
            rehash(c < kMinCapacity ? kMinCapacity : c);
        }
        return true;
    }

    std::size_t extra_bytes() const {
        if (!extra) return 0;
        // Per node: the key, the count and the next pointer (rounded to 32 by malloc); per
        // bucket one pointer.
        return sizeof(*extra) + extra->size() * 32 + extra->bucket_count() * sizeof(void*);
    }
};

KeySet::KeySet() : shards_(std::make_unique<Shard[]>(kShards)) {
    static_assert(sizeof(Shard) == 64 || sizeof(std::mutex) > 40, "one cache line per shard");
}
KeySet::~KeySet() = default;

KeySet::Shard& KeySet::shard_of(std::uint64_t fp) const { return shards_[shard_index(fp)]; }

KeySet* KeySet::rebuild_for(std::size_t index) const {
    const bool on = (rebuild_shards_.load(std::memory_order_relaxed) >> index) & 1;
    return on ? rebuild_.get() : nullptr;
}

bool KeySet::insert(std::uint64_t fp) {
    Shard& s = shard_of(fp);
    std::lock_guard lock(s.mu);
    if (KeySet* r = rebuild_for(shard_index(fp))) r->insert(fp);
    return s.insert(fp);
}

void KeySet::add(std::uint64_t fp) {
    Shard& s = shard_of(fp);
    std::lock_guard lock(s.mu);
    if (KeySet* r = rebuild_for(shard_index(fp))) r->add(fp);
    s.add(fp);
}

std::size_t KeySet::add_many(std::span<const std::uint64_t> fps) {
    // Group by shard (a counting sort), then take each shard's lock once.
    std::size_t begin[kShards + 1] = {};
    for (std::uint64_t fp : fps) ++begin[(fp >> (64 - kShardBits)) + 1];
    for (std::size_t s = 0; s < kShards; ++s) begin[s + 1] += begin[s];
    std::vector<std::uint64_t> grouped(fps.size());
    std::size_t fill[kShards];
    for (std::size_t s = 0; s < kShards; ++s) fill[s] = begin[s];
    for (std::uint64_t fp : fps) grouped[fill[fp >> (64 - kShardBits)]++] = fp;

    std::size_t added = 0;
    for (std::size_t s = 0; s < kShards; ++s) {
        if (begin[s] == begin[s + 1]) continue;
        Shard& shard = shards_[s];
        std::lock_guard lock(shard.mu);
        if (KeySet* r = rebuild_for(s))
            r->add_many(std::span(grouped).subspan(begin[s], begin[s + 1] - begin[s]));
        constexpr std::size_t kAhead = 8;  // hide the cache miss of each probe behind others
        for (std::size_t i = begin[s]; i < begin[s + 1]; ++i) {
            if (i + kAhead < begin[s + 1] && shard.capacity != 0) {
                __builtin_prefetch(&shard.slots[home(grouped[i + kAhead], shard.capacity)]);
            }
            added += shard.add(grouped[i]);
        }
    }
    return added;
}

bool KeySet::contains(std::uint64_t fp) const {
    const Shard& s = shard_of(fp);
    std::lock_guard lock(s.mu);
    return s.find(fp);
}

bool KeySet::erase(std::uint64_t fp) {
    Shard& s = shard_of(fp);
    std::lock_guard lock(s.mu);
    if (KeySet* r = rebuild_for(shard_index(fp))) r->erase(fp);
    return s.erase(fp);
}

std::size_t KeySet::size() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < kShards; ++i) {
        std::lock_guard lock(shards_[i].mu);
        n += shards_[i].count;
    }
    return n;
}

std::size_t KeySet::memory_bytes() const {
    std::size_t bytes = sizeof(*this) + kShards * sizeof(Shard);
    for (std::size_t i = 0; i < kShards; ++i) {
        std::lock_guard lock(shards_[i].mu);
        bytes += shards_[i].capacity * sizeof(std::uint64_t) + shards_[i].extra_bytes();
    }
    return bytes;
}

void KeySet::clear() {
    for (std::size_t i = 0; i < kShards; ++i) {
        Shard& s = shards_[i];
        std::lock_guard lock(s.mu);
        s.slots.reset();
        s.capacity = 0;
        s.count = 0;
        s.extra.reset();
    }
}

KeySet& KeySet::begin_rebuild() {
    rebuild_ = std::make_unique<KeySet>();
    for (std::size_t i = 0; i < kShards; ++i) {
        std::lock_guard lock(shards_[i].mu);
        rebuild_shards_.fetch_or(std::uint64_t{1} << i, std::memory_order_relaxed);
    }
    return *rebuild_;
}

void KeySet::finish_rebuild() {
    if (!rebuild_) return;
    for (std::size_t i = 0; i < kShards; ++i) {
        Shard& mine = shards_[i];
        Shard& fresh = rebuild_->shards_[i];
        std::lock_guard lock(mine.mu);
        std::lock_guard fresh_lock(fresh.mu);
        std::swap(mine.slots, fresh.slots);
        std::swap(mine.capacity, fresh.capacity);
        std::swap(mine.count, fresh.count);
        std::swap(mine.extra, fresh.extra);
        rebuild_shards_.fetch_and(~(std::uint64_t{1} << i), std::memory_order_relaxed);
    }
    // No shard writes to it any more: every writer that saw its bit held that shard's lock,
    // which the loop above took after it.
    rebuild_.reset();
}

void KeySet::abandon_rebuild() {
    if (!rebuild_) return;
    for (std::size_t i = 0; i < kShards; ++i) {
        std::lock_guard lock(shards_[i].mu);
        rebuild_shards_.fetch_and(~(std::uint64_t{1} << i), std::memory_order_relaxed);
    }
    rebuild_.reset();
}

void KeySet::reserve(std::size_t n) {
    // Each shard gets n/64 keys on average, with a standard deviation of about sqrt(n/64):
    // four of those, and a little more, keep every shard below the growth limit.
    const double share = static_cast<double>(n) / kShards;
    const double keys = share + 4 * std::sqrt(share) + 16;
    const auto c = static_cast<std::size_t>(keys * kGrowDen / kGrowNum) + 1;
    for (std::size_t i = 0; i < kShards; ++i) {
        Shard& s = shards_[i];
        std::lock_guard lock(s.mu);
        if (c > s.capacity) s.rehash(c);
    }
}

}  // namespace uniqguard::guard
