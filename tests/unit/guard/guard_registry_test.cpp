// Tests of the guard registry across a reload: which guards keep the running key set (and its
// counters) and which load their own.
#include "guard/guard_registry.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace uniqguard;

namespace {
config::Guard guard_on(std::string name, std::vector<std::string> columns) {
    config::Guard g;
    g.table = "public.enroll";
    g.columns = std::move(columns);
    g.name = std::move(name);
    return g;
}
}  // namespace

TEST_CASE("a reloaded registry shares the key sets of unchanged key definitions",
          "[guard_registry]") {
    guard::GuardRegistry first(
        {guard_on("pair", {"user_id", "course_id"}), guard_on("user", {"user_id"})});
    CHECK(first.fresh_guards().size() == 2);
    auto& pair = *first.guards()[0];
    pair.set_ready(guard::GuardTable{.name = "enroll"});
    pair.keys().insert(42);
    pair.counters().rejected.fetch_add(3);

    auto logged = guard_on("pair_renamed", {"user_id", "course_id"});
    logged.action = config::GuardAction::log;
    guard::GuardRegistry second({logged, guard_on("course", {"course_id"})}, first);
    REQUIRE(second.guards().size() == 2);
    auto& kept = *second.guards()[0];
    CHECK(kept.config().name == "pair_renamed");
    CHECK(kept.config().action == config::GuardAction::log);
    CHECK(kept.shared_keys() == pair.shared_keys());
    CHECK(kept.keys().contains(42));
    CHECK(kept.counters().rejected.load() == 3);
    CHECK(kept.seed() == pair.seed());
    CHECK(kept.state() == guard::GuardLoadState::ready);  // the load state is the keys'
    CHECK(kept.table().name == "enroll");
    // A new key definition loads its own key set, with the same fingerprint seed.
    REQUIRE(second.fresh_guards().size() == 1);
    CHECK(second.fresh_guards()[0] == second.guards()[1].get());
    CHECK(second.guards()[1]->shared_keys() != first.guards()[1]->shared_keys());
    CHECK(second.guards()[1]->seed() == pair.seed());
    CHECK(second.id() != first.id());
}
