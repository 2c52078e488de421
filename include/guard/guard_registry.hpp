// The guards a running proxy enforces: per [[guard]], its resolved table (guard_catalog.hpp), its
// key set and its load state, shared by every session on every worker thread. Created at
// start from the config, and again at each reload (proxy/config_reload); the tables and key sets
// are filled by the loader (proxy/key_set_loading) while sessions already run: until a guard is
// `ready`, its table's writes follow when_unready.
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
#include "guard/key_claims.hpp"
#include "guard/key_set.hpp"
#include "guard/mysql_guard_table.hpp"
#include "sql/prefilter.hpp"
#include "sql/statement.hpp"

namespace uniqguard::guard {

enum class GuardLoadState : std::uint8_t { loading, ready, failed };

struct GuardCounters {
    std::atomic<std::uint64_t> passed{0};  // guarded writes forwarded without a duplicate
    // Of those, INSERTs passed on the statement-shape path (keys read from the tokens of a
    // shape seen before, no parse: pg_insert_shape.hpp, mysql_insert_shape.hpp).
    std::atomic<std::uint64_t> shape_passes{0};
    std::atomic<std::uint64_t> checked{0};  // suspected duplicates confirmed with the server
    std::atomic<std::uint64_t> rejected{0};
    std::atomic<std::uint64_t> ignored{
        0};  // duplicate rows skipped (ignore, ON CONFLICT DO NOTHING)
    std::atomic<std::uint64_t> logged{0};
    std::atomic<std::uint64_t> refused{0};  // forms not enforced yet, or the key set not ready
    std::atomic<std::uint64_t> forwarded_unready{0};
    // Writes that waited for another session's transaction (a claimed key), and those waiting
    // now.
    std::atomic<std::uint64_t> waits{0};
    std::atomic<std::int64_t> waiting{0};
};

// What a guard knows of its table's keys, apart from its config: the key set, its load state,
// the counters and the writers. Shared by the GuardStates of successive registries whose key
// definition is the same (a reload that changes only the action keeps the keys it has).
struct GuardKeys {
    explicit GuardKeys(std::uint64_t fingerprint_seed) : seed(fingerprint_seed) {}
    std::uint64_t seed;
    KeySet keys;
    KeyClaims claims;  // keys of transactions in flight (key_claims.hpp)
    GuardCounters counters;
    std::atomic<GuardLoadState> state{GuardLoadState::loading};
    std::atomic<std::int64_t> load_ns{-1};
    std::optional<GuardTable> table;
    // MySQL/MariaDB guards: the key columns and their weights (the GuardTable above holds the
    // names the admin endpoint shows). Written before `state` turns ready, like `table`.
    std::shared_ptr<const MySqlGuardTable> mysql_table;
    mutable std::mutex failure_mutex;
    std::string failure;
    std::atomic<std::uint64_t> rebuild_epoch{0};
    std::atomic<std::int64_t> writers[2] = {0, 0};  // by epoch parity
    std::mutex rebuild_mutex;
    bool rebuild_running = false;
    bool rebuild_again = false;
};

class GuardState {
  public:
    // A guard with a key set of its own (loading until set_ready).
    GuardState(config::Guard config, std::uint64_t seed);
    // A guard that enforces `keys`, which another guard of the same key definition filled.
    GuardState(config::Guard config, std::shared_ptr<GuardKeys> keys);

    const config::Guard& config() const { return config_; }
    // The configured table split as the server would read an unquoted name: lower case.
    const sql::QualifiedName& configured_name() const { return configured_name_; }
    std::uint64_t seed() const { return k_.seed; }
    KeySet& keys() { return k_.keys; }
    KeyClaims& claims() { return k_.claims; }
    GuardCounters& counters() { return k_.counters; }
    const std::shared_ptr<GuardKeys>& shared_keys() const { return keys_; }
    // Whether `other` reads the same keys: same table, columns (in order) and NULL rule, so
    // that its key set serves this guard as it is.
    bool same_key_definition(const config::Guard& other) const;

    GuardLoadState state() const { return k_.state.load(std::memory_order_acquire); }
    // Only when state() == ready: the table never changes afterwards.
    const GuardTable& table() const { return *k_.table; }
    void set_ready(GuardTable table);
    void set_ready(GuardTable table, std::shared_ptr<const MySqlGuardTable> mysql);
    // Only when state() == ready, on a MySQL guard (null otherwise).
    const MySqlGuardTable* mysql_table() const { return k_.mysql_table.get(); }
    void set_failed(std::string why);
    std::string failure() const;
    // The duration of the last completed load of the key set (at start or after a TRUNCATE),
    // for the admin endpoint; negative before the first.
    void set_load_duration(std::chrono::nanoseconds d) {
        k_.load_ns.store(d.count(), std::memory_order_relaxed);
    }
    std::chrono::nanoseconds load_duration() const {
        return std::chrono::nanoseconds(k_.load_ns.load(std::memory_order_relaxed));
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
    // Starts a rebuild only if none runs, without asking a running one for another run: for a
    // caller that tries again later (the reload's catch-up).
    bool claim_rebuild();

  private:
    config::Guard config_;
    sql::QualifiedName configured_name_;
    std::shared_ptr<GuardKeys> keys_;
    GuardKeys& k_;  // *keys_, without the shared_ptr's indirection at every use
};

class GuardRegistry {
  public:
    // The fingerprint seed is per process (random), so that clients cannot aim keys at one
    // probe range of the key set.
    explicit GuardRegistry(const std::vector<config::Guard>& guards);
    // After a reload: a guard whose key definition `previous` has already (GuardState::
    // same_key_definition) shares that guard's keys; the others start loading.
    GuardRegistry(const std::vector<config::Guard>& guards, const GuardRegistry& previous);

    bool empty() const { return guards_.empty(); }
    // The guards whose keys this registry loads itself (not shared with the previous one).
    std::vector<GuardState*> fresh_guards() const;
    // Unique to this registry in the process (never re-used), for caches that hold pointers to
    // its guards.
    std::uint64_t id() const { return id_; }
    const std::vector<std::unique_ptr<GuardState>>& guards() const { return guards_; }
    // The guard of a statement's target table, or null.
    GuardState* find(const sql::QualifiedName& target) const;
    const sql::TableMentionFilter& filter() const { return filter_; }
    // Whether the text names one of the guarded tables (cheap, never wrong in the unsafe way).
    bool may_mention(std::string_view sql) const { return !empty() && filter_.may_mention(sql); }

    // A TRUNCATE of `g`'s table has committed through the proxy (any thread), or a reload's new
    // key set must catch up (proxy/config_reload): its key set is rebuilt by the starter the
    // server sets (proxy/key_set_rebuild.hpp); without one, nothing happens (a stale key set
    // only costs checks). `reason` is a literal for the log ("after a TRUNCATE").
    using RebuildStarter = std::function<void(GuardState&, const char* reason)>;
    void set_rebuild_starter(RebuildStarter starter) { rebuild_starter_ = std::move(starter); }
    void rebuild_keys(GuardState& g, const char* reason) const {
        if (rebuild_starter_ && g.state() == GuardLoadState::ready && g.request_rebuild())
            rebuild_starter_(g, reason);
    }

  private:
    std::vector<std::unique_ptr<GuardState>> guards_;
    sql::TableMentionFilter filter_;
    std::uint64_t id_;
    RebuildStarter rebuild_starter_;
    std::vector<GuardState*> fresh_;
};

}  // namespace uniqguard::guard
