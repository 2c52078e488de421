// Plans kept by statement shape (pg_insert_shape.hpp, mysql_insert_shape.hpp): for each shape
// key, the plan the full path made for the first text of that shape, or that it made none.
//
// One cache per worker thread (no locks), bounded in entries and in bytes (a shape key is about
// as long as its text: a restore's big multi-row INSERTs, each of another row count, must not
// pile up), and tied to one GuardRegistry: plans hold pointers to its guards, so a cache that
// meets another registry (a reload) starts afresh. Full, it starts afresh too.
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
        const std::size_t bytes = bytes_of(shape_key, plan);
        if (bytes > kMaxBytes) return;  // never kept
        if (auto it = entries_.find(shape_key); it != entries_.end()) {
            bytes_ -= bytes_of(it->first, it->second);
            entries_.erase(it);
        }
        if (entries_.size() >= kMaxEntries || bytes_ + bytes > kMaxBytes) clear();
        entries_.emplace(shape_key, std::move(plan));
        bytes_ += bytes;
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
    static constexpr std::size_t kMaxBytes = 8u << 20;

    // What an entry holds, roughly: its key, its plan's parts, the map's own overhead.
    static std::size_t bytes_of(const std::string& key, const std::optional<Plan>& plan) {
        std::size_t n = key.size() + 64;
        if (plan) n += sizeof(Plan) + plan->parts.size() * sizeof(plan->parts.front());
        return n;
    }

    void clear() {
        entries_.clear();
        bytes_ = 0;
    }

    void bind_to(const guard::GuardRegistry& registry) {
        if (registry_id_ == registry.id()) return;
        clear();
        registry_id_ = registry.id();
    }

    std::size_t bytes_ = 0;
    std::uint64_t registry_id_ = 0;
    std::unordered_map<std::string, std::optional<Plan>> entries_;
};

}  // namespace uniqguard::proxy
