// Plans kept by statement shape (pg_insert_shape.hpp, mysql_insert_shape.hpp): for each shape
// key, the plan the full path made for the first text of that shape, or that it made none.
//
// One cache per worker thread (no locks), bounded, and tied to one GuardRegistry: plans hold
// pointers to its guards, so a cache that meets another registry (a reload) starts afresh.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "guard/guard_registry.hpp"

namespace uniqguard::proxy {

template <class Plan>
class ShapePlanCache {
  public:
    // The entry for a shape key: null when unknown; an empty optional when the shape is known
    // to be outside the plan's path.
    const std::optional<Plan>* find(const guard::GuardRegistry& registry,
                                    const std::string& shape_key) {
        bind_to(registry);
        auto it = entries_.find(shape_key);
        return it == entries_.end() ? nullptr : &it->second;
    }

    void store(const guard::GuardRegistry& registry, const std::string& shape_key,
               std::optional<Plan> plan) {
        bind_to(registry);
        if (entries_.size() >= kMaxEntries) entries_.clear();
        entries_.insert_or_assign(shape_key, std::move(plan));
    }

    // This worker thread's cache.
    static ShapePlanCache& of_this_thread() {
        thread_local ShapePlanCache cache;
        return cache;
    }

  private:
    // As the statement cache's bound (statement_cache.cpp): the shapes of one application's
    // INSERTs into its guarded tables.
    static constexpr std::size_t kMaxEntries = 4096;

    void bind_to(const guard::GuardRegistry& registry) {
        if (registry_id_ == registry.id()) return;
        entries_.clear();
        registry_id_ = registry.id();
    }

    std::uint64_t registry_id_ = 0;
    std::unordered_map<std::string, std::optional<Plan>> entries_;
};

}  // namespace uniqguard::proxy
