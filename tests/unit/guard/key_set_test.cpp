#include "guard/key_set.hpp"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "guard/key_fingerprint.hpp"
#include "guard/key_normalizer.hpp"
#include "guard_test_util.hpp"

using uniqguard::guard::KeySet;

namespace {

// splitmix64: distinct, well-mixed, never 0 for the inputs used here.
std::uint64_t mix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9;
    x = (x ^ (x >> 27)) * 0x94d049bb133111eb;
    x ^= x >> 31;
    return x == 0 ? 1 : x;
}

double bytes_per_key(const KeySet& s) {
    return static_cast<double>(s.memory_bytes()) / static_cast<double>(s.size());
}

}  // namespace

TEST_CASE("KeySetInsertContainsErase", "[guard]") {
    KeySet s;
    CHECK(s.size() == 0);
    CHECK_FALSE(s.contains(42));
    CHECK(s.insert(42));
    CHECK_FALSE(s.insert(42));
    CHECK(s.contains(42));
    CHECK(s.size() == 1);
    CHECK(s.erase(42));
    CHECK_FALSE(s.erase(42));
    CHECK_FALSE(s.contains(42));
    CHECK(s.size() == 0);
    // Fingerprints that share a shard and a home slot.
    const std::uint64_t a = 0x0000000000000001, b = 0x0000000000000002, c = 0x0000000000000003;
    CHECK(s.insert(a));
    CHECK(s.insert(b));
    CHECK(s.insert(c));
    CHECK(s.erase(b));
    CHECK(s.contains(a));
    CHECK(s.contains(c));
    CHECK(s.erase(a));
    CHECK(s.contains(c));
}

TEST_CASE("KeySetCountsKeysThatShareAFingerprint", "[guard]") {
    KeySet s;
    s.add(7);
    s.add(7);  // a second key with the same fingerprint (collision or legacy duplicate)
    CHECK(s.size() == 1);
    CHECK_FALSE(s.insert(7));
    CHECK(s.erase(7));
    CHECK(s.contains(7));  // the other key still holds it
    CHECK(s.erase(7));
    CHECK_FALSE(s.contains(7));
    CHECK_FALSE(s.erase(7));

    const std::vector<std::uint64_t> batch = {1, 2, 3, 2, 1, 1};
    CHECK(s.add_many(batch) == 3);
    CHECK(s.size() == 3);
    CHECK(s.erase(1));
    CHECK(s.erase(1));
    CHECK(s.contains(1));
    CHECK(s.erase(1));
    CHECK_FALSE(s.contains(1));
}

TEST_CASE("KeySetAMillionKeysWithinSixteenBytesEach", "[guard]") {
    KeySet s;
    constexpr std::uint64_t kKeys = 1000000;
    // From 10,000 keys on: below that the 64 shard headers (4 KiB) are most of the set.
    const std::vector<std::uint64_t> checkpoints = {10000,  30000,  100000, 250000,
                                                    500000, 750000, kKeys};
    std::size_t next = 0, refused = 0;
    for (std::uint64_t i = 0; i < kKeys; ++i) {
        refused += !s.insert(mix(i));
        if (i + 1 == checkpoints[next]) {
            INFO("keys " << i + 1 << ", bytes " << s.memory_bytes());
            CHECK(refused == 0);
            CHECK(s.size() == i + 1);
            CHECK(bytes_per_key(s) <= 16.0);
            ++next;
        }
    }
    std::size_t missing = 0, duplicates_accepted = 0, phantom = 0;
    for (std::uint64_t i = 0; i < kKeys; ++i) {
        missing += !s.contains(mix(i));
        duplicates_accepted += s.insert(mix(i));
        phantom += s.contains(mix(kKeys + i));
    }
    CHECK(missing == 0);
    CHECK(duplicates_accepted == 0);
    CHECK(phantom == 0);

    // Erase every other key: the others stay, the erased go, and the set shrinks with them.
    std::size_t erased = 0;
    for (std::uint64_t i = 0; i < kKeys; i += 2) erased += s.erase(mix(i));
    CHECK(erased == kKeys / 2);
    CHECK(s.size() == kKeys / 2);
    missing = phantom = 0;
    for (std::uint64_t i = 0; i < kKeys; ++i) {
        if (i % 2 == 0) {
            phantom += s.contains(mix(i));
        } else {
            missing += !s.contains(mix(i));
        }
    }
    CHECK(missing == 0);
    CHECK(phantom == 0);
    CHECK(bytes_per_key(s) <= 16.0);
    for (std::uint64_t i = 1; i < kKeys; i += 2) s.erase(mix(i));
    CHECK(s.size() == 0);
    CHECK(s.memory_bytes() < 64 * 1024);
}

TEST_CASE("KeySetMatchesAModelUnderRandomOperations", "[guard]") {
    // A small key space so that inserts, erases, growth and shrinking all meet the same keys;
    // fingerprints crowded onto few home slots stress the backward shift.
    KeySet s;
    std::unordered_map<std::uint64_t, int> model;
    std::mt19937_64 rng(12345);
    std::size_t wrong_answers = 0;
    for (int op = 0; op < 300000; ++op) {
        // Only the top 10 bits are random: 6 pick the shard, 4 the home, so runs are long.
        const std::uint64_t k = rng() % 5000 + 1;
        const std::uint64_t fp = (mix(k) & 0xffc0000000000000) | k;
        switch (rng() % 5) {
            case 0:
            case 1: {
                const bool fresh = model.find(fp) == model.end();
                wrong_answers += s.insert(fp) != fresh;
                if (fresh) model[fp] = 1;
                break;
            }
            case 2:
                s.add(fp);
                ++model[fp];
                break;
            default: {
                auto it = model.find(fp);
                wrong_answers += s.erase(fp) != (it != model.end());
                if (it != model.end() && --it->second == 0) model.erase(it);
                break;
            }
        }
        if (op % 10000 == 0) {
            REQUIRE(s.size() == model.size());
            for (const auto& [k, n] : model) wrong_answers += !s.contains(k);
            REQUIRE(wrong_answers == 0);
        }
    }
    CHECK(wrong_answers == 0);
    CHECK(s.size() == model.size());
}

TEST_CASE("KeySetReserveAvoidsGrowth", "[guard]") {
    KeySet s;
    constexpr std::uint64_t kKeys = 500000;
    s.reserve(kKeys);
    const std::size_t reserved = s.memory_bytes();
    for (std::uint64_t i = 0; i < kKeys; ++i) s.insert(mix(i));
    CHECK(s.memory_bytes() == reserved);
    CHECK(bytes_per_key(s) <= 16.0);
    s.reserve(10);  // never shrinks
    CHECK(s.memory_bytes() == reserved);
    s.clear();
    CHECK(s.size() == 0);
    CHECK_FALSE(s.contains(mix(1)));
    CHECK(s.memory_bytes() < 64 * 1024);
    CHECK(s.insert(mix(1)));
}

TEST_CASE("KeySetConcurrentInsertsContainsAndErases", "[guard]") {
    KeySet s;
    constexpr int kThreads = 4;
    constexpr std::uint64_t kPerThread = 200000;
    constexpr std::uint64_t kShared = 50000;  // every thread also inserts these
    std::atomic<std::uint64_t> newly{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            std::uint64_t mine = 0;
            for (std::uint64_t i = 0; i < kPerThread; ++i) {
                mine += s.insert(mix(1000000 * (t + 1) + i));
                if (i < kShared) mine += s.insert(mix(i));
                // Readers and erasers of keys nobody else touches, at the same time.
                if (i % 3 == 0) {
                    s.insert(mix(9000000 + 1000000 * t + i));
                    s.erase(mix(9000000 + 1000000 * t + i));
                }
                (void)s.contains(mix(i));
            }
            newly += mine;
        });
    }
    for (auto& th : threads) th.join();
    CHECK(newly == kThreads * kPerThread + kShared);  // each shared key was new exactly once
    CHECK(s.size() == kThreads * kPerThread + kShared);
    std::size_t missing = 0;
    for (int t = 0; t < kThreads; ++t) {
        for (std::uint64_t i = 0; i < kPerThread; ++i) {
            missing += !s.contains(mix(1000000 * (t + 1) + i));
            if (i % 3 == 0) missing += s.contains(mix(9000000 + 1000000 * t + i));
        }
    }
    for (std::uint64_t i = 0; i < kShared; ++i) missing += !s.contains(mix(i));
    CHECK(missing == 0);
    CHECK(bytes_per_key(s) <= 16.0);
}

namespace {

std::size_t resident_bytes() {
    std::ifstream f("/proc/self/statm");
    std::size_t pages = 0, resident = 0;
    f >> pages >> resident;
    return resident * 4096;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

// Hidden; run: ./build/tests/unit_tests KeySetTenMillionInserts (an optimised build).
TEST_CASE("KeySetTenMillionInserts", "[.perf]") {
    constexpr std::uint64_t kKeys = 10000000;
    {
        const std::size_t rss0 = resident_bytes();
        KeySet s;
        const auto t0 = std::chrono::steady_clock::now();
        for (std::uint64_t i = 0; i < kKeys; ++i) s.insert(mix(i));
        const double secs = seconds_since(t0);
        const std::size_t rss = resident_bytes() - rss0;
        std::printf(
            "KeySet insert, 1 thread: %llu keys in %.3f s = %.2f M keys/s; "
            "memory_bytes %.2f B/key, RSS growth %.2f B/key\n",
            static_cast<unsigned long long>(kKeys), secs, kKeys / secs / 1e6, bytes_per_key(s),
            static_cast<double>(rss) / kKeys);
        CHECK(s.size() == kKeys);
        CHECK(bytes_per_key(s) <= 16.0);

        const auto t1 = std::chrono::steady_clock::now();
        std::size_t found = 0;
        for (std::uint64_t i = 0; i < kKeys; ++i) found += s.contains(mix(i + kKeys / 2));
        const double lookup = seconds_since(t1);
        std::printf("KeySet contains (half hits): %.2f M lookups/s\n", kKeys / lookup / 1e6);
        CHECK(found == kKeys / 2);
    }
    {
        // Two threads (the reference machine has two cores), disjoint keys.
        KeySet s;
        const auto t0 = std::chrono::steady_clock::now();
        std::thread other([&] {
            for (std::uint64_t i = kKeys / 2; i < kKeys; ++i) s.insert(mix(i));
        });
        for (std::uint64_t i = 0; i < kKeys / 2; ++i) s.insert(mix(i));
        other.join();
        const double secs = seconds_since(t0);
        std::printf("KeySet insert, 2 threads: %.2f M keys/s\n", kKeys / secs / 1e6);
        CHECK(s.size() == kKeys);
    }
    {
        // The load path: int8 text as COPY sends it → normalize → fingerprint → add_many.
        using namespace uniqguard::guard;
        const ColumnType int8{.kind = TypeKind::int8};
        const SessionContext session{};
        KeySet s;
        std::vector<std::uint64_t> batch;
        batch.reserve(65536);
        std::string key, digits;
        const auto t0 = std::chrono::steady_clock::now();
        for (std::uint64_t i = 0; i < kKeys; ++i) {
            digits = std::to_string(i * 7919 % 1000000007);
            key.clear();
            append_key_bytes(key, "");  // placeholder header, rewritten below
            key.resize(5);
            if (append_text(int8, int8, digits, session, key) != NormalizeStatus::ok) continue;
            const auto n = static_cast<std::uint32_t>(key.size() - 5);
            key[1] = static_cast<char>(n >> 24);
            key[2] = static_cast<char>(n >> 16);
            key[3] = static_cast<char>(n >> 8);
            key[4] = static_cast<char>(n);
            batch.push_back(fingerprint_encoded_key(key));
            if (batch.size() == batch.capacity()) {
                s.add_many(batch);
                batch.clear();
            }
        }
        s.add_many(batch);
        const double secs = seconds_since(t0);
        std::printf(
            "Load path (normalize int8 text + XXH3 + add_many): %.2f M keys/s, "
            "%.2f B/key\n",
            kKeys / secs / 1e6, bytes_per_key(s));
        CHECK(bytes_per_key(s) <= 16.0);
    }
}

TEST_CASE("KeySet rebuild: the new contents are what was filled and what was added meanwhile",
          "[key_set]") {
    KeySet set;
    for (std::uint64_t fp = 1; fp <= 1000; ++fp) set.insert(fp * 0x9E3779B97F4A7C15ULL);
    const auto fp_of = [](std::uint64_t i) { return i * 0x9E3779B97F4A7C15ULL; };
    REQUIRE(set.size() == 1000);

    KeySet& fresh = set.begin_rebuild();
    CHECK(set.rebuilding());
    // The table as read by the rebuild: keys 1..10 still exist.
    for (std::uint64_t i = 1; i <= 10; ++i) fresh.add(fp_of(i));
    // Added through the set while it rebuilds: an old key (present, insert says so, but it is
    // about to exist again) and new ones.
    CHECK_FALSE(set.insert(fp_of(500)));
    CHECK(set.insert(fp_of(2000)));
    set.add(fp_of(3000));
    const std::uint64_t batch[] = {fp_of(4000), fp_of(4001)};
    CHECK(set.add_many(batch) == 2);
    CHECK(set.size() == 1004);  // the old contents stay in force until the end

    set.finish_rebuild();
    CHECK_FALSE(set.rebuilding());
    CHECK(set.size() == 15);
    for (std::uint64_t i : {1, 5, 10, 500, 2000, 3000, 4000, 4001}) CHECK(set.contains(fp_of(i)));
    for (std::uint64_t i : {11, 499, 501, 1000}) CHECK_FALSE(set.contains(fp_of(i)));
    // Usable as before.
    CHECK(set.insert(fp_of(11)));
    CHECK_FALSE(set.insert(fp_of(11)));
}

TEST_CASE("KeySet rebuild abandoned: the old contents stay", "[key_set]") {
    KeySet set;
    for (std::uint64_t fp = 1; fp <= 100; ++fp) set.insert(fp << 40);
    KeySet& fresh = set.begin_rebuild();
    fresh.add(1);
    set.insert(std::uint64_t{777} << 40);
    set.abandon_rebuild();
    CHECK_FALSE(set.rebuilding());
    CHECK(set.size() == 101);
    CHECK(set.contains(std::uint64_t{50} << 40));
    CHECK_FALSE(set.contains(1));
}

TEST_CASE("KeySet rebuild under concurrent inserts loses no key added after it began",
          "[key_set]") {
    KeySet set;
    std::mt19937_64 seed_rng(7);
    for (int i = 0; i < 20000; ++i) set.insert(seed_rng() | 1);
    KeySet& fresh = set.begin_rebuild();
    std::atomic<bool> stop{false};
    std::atomic<std::size_t> inserts{0};
    std::vector<std::vector<std::uint64_t>> added(3);
    std::vector<std::thread> writers;
    for (std::size_t t = 0; t < added.size(); ++t) {
        writers.emplace_back([&, t] {
            std::mt19937_64 rng(100 + t);
            while (!stop.load()) {
                const std::uint64_t fp = rng() | 1;
                set.insert(fp);
                added[t].push_back(fp);
                inserts.fetch_add(1);
            }
        });
    }
    // Writers running before the table is read, while it is, and after the swap.
    auto wait_for_inserts = [&](std::size_t more) {
        const std::size_t target = inserts.load() + more;
        while (inserts.load() < target) std::this_thread::yield();
    };
    wait_for_inserts(3000);
    std::mt19937_64 table_rng(11);
    std::vector<std::uint64_t> table;
    for (int i = 0; i < 5000; ++i) table.push_back(table_rng() | 1);
    fresh.add_many(table);
    set.finish_rebuild();  // while the writers go on
    wait_for_inserts(3000);
    stop = true;
    for (auto& w : writers) w.join();
    for (auto fp : table) REQUIRE(set.contains(fp));
    std::size_t total = 0;
    for (const auto& list : added) {
        total += list.size();
        for (auto fp : list) REQUIRE(set.contains(fp));
    }
    CHECK(total > 0);
}
