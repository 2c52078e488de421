// The guards a running proxy enforces: per [[guard]], its resolved table (guard_catalog.hpp), its
// key set and its load state, shared by every session on every worker thread. Created once at
// start from the config; the tables and key sets are filled by the loader (proxy/key_set_loading)
// while sessions already run: until a guard is `ready`, its table's writes follow when_unready.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "guard/guard_catalog.hpp"
#include "guard/key_set.hpp"
#include "sql/prefilter.hpp"
#include "sql/statement.hpp"

namespace uniqguard::guard {

enum class GuardLoadState : std::uint8_t { loading, ready, failed };

struct GuardCounters {
    std::atomic<std::uint64_t> passed{0};   // guarded writes forwarded without a duplicate
    std::atomic<std::uint64_t> checked{0};  // suspected duplicates confirmed with the server
    std::atomic<std::uint64_t> rejected{0};
    std::atomic<std::uint64_t> ignored{
        0};  // duplicate rows skipped (ignore, ON CONFLICT DO NOTHING)
    std::atomic<std::uint64_t> logged{0};
    std::atomic<std::uint64_t> refused{0};  // forms not enforced yet, or the key set not ready
    std::atomic<std::uint64_t> forwarded_unready{0};
};

class GuardState {
  public:
    GuardState(config::Guard config, std::uint64_t seed);

    const config::Guard& config() const { return config_; }
    // The configured table split as the server would read an unquoted name: lower case.
    const sql::QualifiedName& configured_name() const { return configured_name_; }
    std::uint64_t seed() const { return seed_; }
    KeySet& keys() { return keys_; }
    GuardCounters& counters() { return counters_; }

    GuardLoadState state() const { return state_.load(std::memory_order_acquire); }
    // Only when state() == ready: the table never changes afterwards.
    const GuardTable& table() const { return *table_; }
    void set_ready(GuardTable table);
    void set_failed(std::string why);
    std::string failure() const;
    // The duration of the last completed load of the key set (at start or after a TRUNCATE),
    // for the admin endpoint; negative before the first.
    void set_load_duration(std::chrono::nanoseconds d) {
        load_ns_.store(d.count(), std::memory_order_relaxed);
    }
    std::chrono::nanoseconds load_duration() const {
        return std::chrono::nanoseconds(load_ns_.load(std::memory_order_relaxed));
    }

    // Whether a statement's target names this guard's table: the same name, and the same schema
    // when the statement names one (an unqualified name is taken to be the guarded table; a
    // client whose search_path finds another table of that name first is over-guarded, never
    // under-guarded).
    bool matches(const sql::QualifiedName& target) const;

    // Writers: sessions that may have added keys to the key set in a transaction that has not
    // ended yet. A rebuild of the key set (after a TRUNCATE) must wait for those that began
    // before it, since their rows may commit after its read of the table. A writer is counted
    // under the rebuild epoch it began in; open_writer returns that epoch for close_writer.
    std::uint64_t open_writer();
    void close_writer(std::uint64_t epoch);
    // Starts a new epoch and returns the old one, whose writers the rebuild waits for.
    std::uint64_t next_rebuild_epoch();
    std::int64_t writers_of(std::uint64_t epoch) const;

    // A TRUNCATE of the table committed through the proxy: the key set may be rebuilt. Returns
    // true when the caller is to start the rebuild, false when one runs already (it will run
    // once more when it ends: rebuild_done() returns true then).
    bool request_rebuild();
    bool rebuild_done();

  private:
    config::Guard config_;
    sql::QualifiedName configured_name_;
    std::uint64_t seed_;
    KeySet keys_;
    GuardCounters counters_;
    std::atomic<GuardLoadState> state_{GuardLoadState::loading};
    std::atomic<std::int64_t> load_ns_{-1};
    std::optional<GuardTable> table_;
    mutable std::mutex failure_mutex_;
    std::string failure_;
    std::atomic<std::uint64_t> rebuild_epoch_{0};
    std::atomic<std::int64_t> writers_[2] = {0, 0};  // by epoch parity
    std::mutex rebuild_mutex_;
    bool rebuild_running_ = false;
    bool rebuild_again_ = false;
};

class GuardRegistry {
  public:
    // The fingerprint seed is per process (random), so that clients cannot aim keys at one
    // probe range of the key set.
    explicit GuardRegistry(const std::vector<config::Guard>& guards);

    bool empty() const { return guards_.empty(); }
    // Unique to this registry in the process (never re-used), for caches that hold pointers to
    // its guards.
    std::uint64_t id() const { return id_; }
    const std::vector<std::unique_ptr<GuardState>>& guards() const { return guards_; }
    // The guard of a statement's target table, or null.
    GuardState* find(const sql::QualifiedName& target) const;
    const sql::TableMentionFilter& filter() const { return filter_; }
    // Whether the text names one of the guarded tables (cheap, never wrong in the unsafe way).
    bool may_mention(std::string_view sql) const { return !empty() && filter_.may_mention(sql); }

    // A TRUNCATE of `g`'s table has committed through the proxy (any thread): its key set is
    // rebuilt by the starter the server sets (proxy/key_set_rebuild.hpp); without one, nothing
    // happens (a stale key set only costs checks).
    void set_rebuild_starter(std::function<void(GuardState&)> starter) {
        rebuild_starter_ = std::move(starter);
    }
    void rebuild_after_truncate(GuardState& g) const {
        if (rebuild_starter_ && g.state() == GuardLoadState::ready && g.request_rebuild())
            rebuild_starter_(g);
    }

  private:
    std::vector<std::unique_ptr<GuardState>> guards_;
    sql::TableMentionFilter filter_;
    std::uint64_t id_;
    std::function<void(GuardState&)> rebuild_starter_;
};

}  // namespace uniqguard::guard
