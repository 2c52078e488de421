#include "proxy/key_set_rebuild.hpp"

#include <spdlog/spdlog.h>

#include "guard/key_set_loader.hpp"
#include "pgclient/connection.hpp"

namespace uniqguard::proxy {

namespace {
constexpr auto writer_poll = std::chrono::milliseconds(20);

// One rebuild; true when the new set is in force.
asio::awaitable<bool> rebuild_once(SharedState& shared, guard::GuardState& g, const char* reason,
                                   std::chrono::milliseconds max_wait) {
    const auto& cfg = g.config();
    auto& fresh = g.keys().begin_rebuild();
    const std::uint64_t epoch = g.next_rebuild_epoch();
    const auto start = std::chrono::steady_clock::now();
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (g.writers_of(epoch) > 0) {
        if (shared.shutting_down || std::chrono::steady_clock::now() - start > max_wait) {
            g.keys().abandon_rebuild();
            spdlog::warn(
                "guard {}: key set not rebuilt {}: {} session(s) still in a transaction that "
                "wrote to the table after {} ms (the key set stays as it was)",
                cfg.name, reason, g.writers_of(epoch), max_wait.count());
            co_return false;
        }
        timer.expires_after(writer_poll);
        co_await timer.async_wait(use_tuple);
    }
    pgclient::PgConnection conn;
    const auto now = shared.reloadable.current().value;
    if (auto st = co_await conn.connect(now.config->backend, *now.backend_tls); !st) {
        g.keys().abandon_rebuild();
        spdlog::error("guard {}: key set not rebuilt {}: {}", cfg.name, reason,
                      st.error().describe());
        co_return false;
    }
    const std::size_t before = g.keys().size();
    auto stats =
        co_await guard::load_key_set(conn, g.table(), cfg.nulls_distinct, g.seed(), fresh, {});
    co_await conn.close();
    if (!stats) {
        g.keys().abandon_rebuild();
        spdlog::error("guard {}: key set not rebuilt {}: {}", cfg.name, reason,
                      stats.error().describe());
        co_return false;
    }
    g.keys().finish_rebuild();
    g.set_load_duration(stats->elapsed);
    spdlog::info("guard {}: key set rebuilt {}: {} keys (was {}), {} rows read, {:.2f} s", cfg.name,
                 reason, g.keys().size(), before, stats->rows,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    co_return true;
}
}  // namespace

asio::awaitable<bool> rebuild_key_set(SharedState& shared, guard::GuardState& g, const char* reason,
                                      std::chrono::milliseconds max_wait) {
    bool done = false;
    do {
        done = co_await rebuild_once(shared, g, reason, max_wait);
    } while (g.rebuild_done() && !shared.shutting_down);
    co_return done;
}

}  // namespace uniqguard::proxy
