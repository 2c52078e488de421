#include "guard/key_claims.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <memory>
#include <thread>
#include <vector>

#include "guard/claim_waits.hpp"

using uniqguard::guard::ClaimWaiter;
using uniqguard::guard::KeyClaims;

namespace {

struct CountingWaiter : ClaimWaiter {
    std::atomic<int> wakes{0};
    void wake() override { wakes.fetch_add(1); }
};

// Fingerprints of one shard (equal top bits) whose low bits collide, to exercise probing and
// the backward shift of erase.
std::uint64_t same_shard(std::uint64_t low) { return (std::uint64_t{5} << 58) | low; }

}  // namespace

TEST_CASE("A free key is taken; its owner claims it again as already ours", "[key_claims]") {
    KeyClaims claims;
    CHECK(claims.claim(42, 1) == KeyClaims::Claim::taken);
    CHECK(claims.claim(42, 1) == KeyClaims::Claim::already_ours);
    CHECK(claims.holder(42) == 1);
    CHECK(claims.size() == 1);
}

TEST_CASE("A key held by another owner is held until that owner releases it", "[key_claims]") {
    KeyClaims claims;
    REQUIRE(claims.claim(42, 1) == KeyClaims::Claim::taken);
    CHECK(claims.claim(42, 2) == KeyClaims::Claim::held);
    claims.release(42, 2);  // not its owner: nothing happens
    CHECK(claims.holder(42) == 1);
    claims.release(42, 1);
    CHECK(claims.holder(42) == 0);
    CHECK(claims.claim(42, 2) == KeyClaims::Claim::taken);
}

TEST_CASE("Waiters of a key are woken once at its release, not at another key's", "[key_claims]") {
    KeyClaims claims;
    auto a = std::make_shared<CountingWaiter>();
    auto b = std::make_shared<CountingWaiter>();
    REQUIRE(claims.claim(7, 1) == KeyClaims::Claim::taken);
    REQUIRE(claims.claim(8, 1) == KeyClaims::Claim::taken);
    CHECK(claims.claim(7, 2, a) == KeyClaims::Claim::held);
    CHECK(claims.claim(7, 2, a) == KeyClaims::Claim::held);  // registered once
    CHECK(claims.claim(7, 3, b) == KeyClaims::Claim::held);
    claims.release(8, 1);
    CHECK(a->wakes == 0);
    CHECK(b->wakes == 0);
    claims.release(7, 1);
    CHECK(a->wakes == 1);
    CHECK(b->wakes == 1);
    claims.release(7, 1);  // gone already: nobody is woken twice
    CHECK(a->wakes == 1);
}

TEST_CASE("Colliding keys in one shard survive each other's release", "[key_claims]") {
    KeyClaims claims;
    // Low bits equal modulo every table size the shard will have (16, 32, 64): one probe run.
    std::vector<std::uint64_t> fps;
    for (std::uint64_t i = 1; i <= 40; ++i) fps.push_back(same_shard(i << 8));
    for (auto fp : fps) REQUIRE(claims.claim(fp, 1) == KeyClaims::Claim::taken);
    CHECK(claims.size() == fps.size());
    // Release every other one, then every remaining one must still be found.
    for (std::size_t i = 0; i < fps.size(); i += 2) claims.release(fps[i], 1);
    for (std::size_t i = 0; i < fps.size(); ++i)
        CHECK(claims.holder(fps[i]) == (i % 2 == 0 ? 0u : 1u));
    for (std::size_t i = 1; i < fps.size(); i += 2) claims.release(fps[i], 1);
    CHECK(claims.size() == 0);
    // Wrapping around the end of the table: home slots near the end.
    KeyClaims wrap;
    const std::uint64_t near_end[] = {same_shard(15), same_shard(31), same_shard(15 + 64),
                                      same_shard(14)};
    for (auto fp : near_end) REQUIRE(wrap.claim(fp, 9) == KeyClaims::Claim::taken);
    wrap.release(near_end[0], 9);
    for (std::size_t i = 1; i < 4; ++i) CHECK(wrap.holder(near_end[i]) == 9);
}

TEST_CASE("Concurrent owners never hold one key together", "[key_claims]") {
    KeyClaims claims;
    constexpr int threads = 4;
    constexpr int rounds = 20000;
    std::atomic<int> inside[8] = {};
    std::atomic<bool> broken{false};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, owner = std::uint64_t(t + 1)] {
            for (int r = 0; r < rounds; ++r) {
                const std::uint64_t key = std::uint64_t(r % 8) + 1;
                if (claims.claim(key, owner) != KeyClaims::Claim::taken) continue;
                if (inside[key - 1].fetch_add(1) != 0) broken = true;
                inside[key - 1].fetch_sub(1);
                claims.release(key, owner);
            }
        });
    }
    for (auto& th : pool) th.join();
    CHECK_FALSE(broken);
    CHECK(claims.size() == 0);
}

TEST_CASE("A cycle of waits through a session is found from that session only while it lasts",
          "[key_claims]") {
    using uniqguard::guard::ClaimWaits;
    KeyClaims claims;
    ClaimWaits waits;
    // Owners 101 and 102 hold one key each; 103 waits for 101 without being waited for.
    REQUIRE(claims.claim(1, 101) == KeyClaims::Claim::taken);
    REQUIRE(claims.claim(2, 102) == KeyClaims::Claim::taken);
    waits.waiting(101, claims, 2);
    CHECK_FALSE(waits.in_cycle(101));  // 102 waits for nothing
    waits.waiting(103, claims, 1);
    CHECK_FALSE(waits.in_cycle(103));
    waits.waiting(102, claims, 1);
    CHECK(waits.in_cycle(101));
    CHECK(waits.in_cycle(102));
    CHECK_FALSE(waits.in_cycle(103));  // waits for a member of the cycle, is not in it
    // 101 fails (the victim): its key is released, its wait is over; no cycle is left.
    waits.done(101);
    claims.release(1, 101);
    CHECK_FALSE(waits.in_cycle(102));
}

TEST_CASE("Of two sessions that look for the same cycle, only the first is its victim",
          "[key_claims]") {
    using uniqguard::guard::ClaimWaits;
    KeyClaims claims;
    ClaimWaits waits;
    REQUIRE(claims.claim(1, 201) == KeyClaims::Claim::taken);
    REQUIRE(claims.claim(2, 202) == KeyClaims::Claim::taken);
    waits.waiting(201, claims, 2);
    waits.waiting(202, claims, 1);
    // 201 looks first and leaves the graph in the same step: 202, looking before 201 has
    // released its key, no longer finds a cycle and goes on waiting.
    CHECK(waits.leave_if_in_cycle(201));
    CHECK_FALSE(waits.leave_if_in_cycle(202));
    CHECK_FALSE(waits.in_cycle(202));
}

TEST_CASE("Commits of released keys are remembered, a bounded number per shard", "[key_claims]") {
    KeyClaims claims;
    REQUIRE(claims.claim(42, 1) == KeyClaims::Claim::taken);
    REQUIRE(claims.claim(43, 1) == KeyClaims::Claim::taken);
    claims.release(42, 1, 10);  // committed at tick 10
    claims.release(43, 1);      // rolled back
    CHECK(claims.committed_after(42, 9));
    CHECK_FALSE(claims.committed_after(42, 10));  // not after a snapshot taken at tick 10
    CHECK_FALSE(claims.committed_after(43, 0));
    CHECK_FALSE(claims.committed_after(44, 0));
    // A release by someone who does not hold the key records nothing.
    REQUIRE(claims.claim(45, 1) == KeyClaims::Claim::taken);
    claims.release(45, 2, 11);
    CHECK_FALSE(claims.committed_after(45, 0));
    // The ring of 42's shard forgets it after kCommitsPerShard later commits there.
    const std::uint64_t shard_bits = std::uint64_t{42} >> (64 - KeyClaims::kShardBits);
    for (std::uint64_t i = 1; i <= KeyClaims::kCommitsPerShard; ++i) {
        const std::uint64_t fp = (shard_bits << (64 - KeyClaims::kShardBits)) | (1000 + i);
        REQUIRE(claims.claim(fp, 3) == KeyClaims::Claim::taken);
        claims.release(fp, 3, 100 + i);
    }
    CHECK_FALSE(claims.committed_after(42, 9));
}
