#include "proxy/key_set_loading.hpp"

#include <spdlog/spdlog.h>

#include "guard/key_set_loader.hpp"
#include "pgclient/connection.hpp"

namespace uniqguard::proxy {

namespace {
constexpr auto retry_delay = std::chrono::seconds(5);

double seconds(std::chrono::steady_clock::duration d) {
    return std::chrono::duration<double>(d).count();
}
}  // namespace

asio::awaitable<bool> load_guard(pgclient::PgConnection& conn, guard::GuardState& g) {
    const auto& cfg = g.config();
    auto table = co_await guard::load_guard_table(conn, cfg);
    if (!table) {
        g.set_failed(table.error().describe());
        spdlog::error("guard {}: {}", cfg.name, table.error().describe());
        co_return false;
    }
    spdlog::info("guard {}: loading the key set of {}.{} ({})", cfg.name, table->schema,
                 table->name, fmt::join(cfg.columns, ", "));
    auto on_progress = [&](const guard::LoadProgress& p) {
        spdlog::info("guard {}: {} rows read in {:.1f} s", cfg.name, p.rows, seconds(p.elapsed));
    };
    auto stats = co_await guard::load_key_set(conn, *table, cfg.nulls_distinct, g.seed(), g.keys(),
                                              on_progress);
    if (!stats) {
        g.keys().clear();
        g.set_failed(stats.error().describe());
        spdlog::error("guard {}: loading the key set failed: {}", cfg.name,
                      stats.error().describe());
        co_return false;
    }
    if (table->has_unique_index_on_key)
        spdlog::info(
            "guard {}: a unique index on the table already enforces the key (the "
            "migration has landed); the guard stays in force",
            cfg.name);
    g.set_load_duration(stats->elapsed);
    g.set_ready(std::move(*table));
    const double s = seconds(stats->elapsed);
    spdlog::info("guard {}: ready: {} rows, {} distinct keys, {:.2f} MiB, {:.2f} s ({:.0f} keys/s)",
                 cfg.name, stats->rows, stats->distinct_fingerprints,
                 static_cast<double>(stats->memory_bytes) / (1024.0 * 1024.0), s,
                 s > 0 ? static_cast<double>(stats->rows) / s : 0.0);
    co_return true;
}

namespace {
// One pass over the guards in force that are not ready: true when all are ready. The guards are
// taken now (a reload may have replaced them since the last round; its own new guards it loads
// itself, the ones it kept are loaded here) and held for this round only: a reload's catch-up
// waits until nothing holds older guards.
asio::awaitable<bool> load_round(SharedState& shared) {
    const auto now = shared.reloadable.current().value;
    const auto& registry = *now.guards;
    bool all_ready = true;
    pgclient::PgConnection conn;
    if (auto st = co_await conn.connect(now.config->backend, *now.backend_tls); !st) {
        for (const auto& g : registry.guards())
            if (g->state() != guard::GuardLoadState::ready)
                g->set_failed("cannot connect to the backend: " + st.error().describe());
        spdlog::error("guards: cannot connect to the backend to load the key sets: {}",
                      st.error().describe());
        co_return false;
    }
    for (const auto& g : registry.guards()) {
        if (g->state() == guard::GuardLoadState::ready) continue;
        if (!co_await load_guard(conn, *g)) all_ready = false;
        if (shared.shutting_down) break;
    }
    co_await conn.close();
    co_return all_ready;
}
}  // namespace

asio::awaitable<void> load_guards(SharedState& shared) {
    auto executor = co_await asio::this_coro::executor;
    for (;;) {
        if (co_await load_round(shared) || shared.shutting_down) co_return;
        spdlog::info("guards: retrying in {} s", retry_delay.count());
        asio::steady_timer wait(executor, retry_delay);
        co_await wait.async_wait(use_tuple);
        if (shared.shutting_down) co_return;
    }
}

}  // namespace uniqguard::proxy
