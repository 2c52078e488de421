#include "proxy/admin_routes.hpp"

#include <fmt/format.h>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "admin/guards_json.hpp"
#include "admin/prometheus_text.hpp"
#include "guard/guard_catalog.hpp"
#include "pgclient/connection.hpp"
#include "proxy/upstream.hpp"
#include "util/gcc12_coroutine_frames.hpp"

namespace uniqguard::proxy {

using namespace asio::experimental::awaitable_operators;

namespace {
// A probe answers within this or says why not: orchestrators give a probe about a second or two.
constexpr std::chrono::milliseconds backend_probe_timeout{2000};
// The catalog look-up of /guards; past it, /guards reports what the key-set load found.
constexpr std::chrono::milliseconds catalog_timeout{3000};

const char* state_name(guard::GuardLoadState s) {
    switch (s) {
        case guard::GuardLoadState::loading:
            return "loading";
        case guard::GuardLoadState::ready:
            return "ready";
        case guard::GuardLoadState::failed:
            return "failed";
    }
    return "unknown";
}

const char* action_name(config::GuardAction a) {
    switch (a) {
        case config::GuardAction::reject:
            return "reject";
        case config::GuardAction::ignore:
            return "ignore";
        case config::GuardAction::log:
            return "log";
    }
    return "unknown";
}

admin::GuardSnapshot snapshot_of(guard::GuardState& g) {
    const auto& cfg = g.config();
    const auto& c = g.counters();
    admin::GuardSnapshot s{.name = cfg.name,
                           .table = cfg.table,
                           .action = action_name(cfg.action),
                           .state = state_name(g.state()),
                           .columns = cfg.columns};
    if (g.state() == guard::GuardLoadState::failed) s.failure = g.failure();
    s.keys = g.keys().size();
    s.bytes = g.keys().memory_bytes();
    if (const auto d = g.load_duration(); d.count() >= 0)
        s.load_seconds = std::chrono::duration<double>(d).count();
    constexpr auto r = std::memory_order_relaxed;
    s.counters = {.passed = c.passed.load(r),
                  .checked = c.checked.load(r),
                  .rejected = c.rejected.load(r),
                  .ignored = c.ignored.load(r),
                  .logged = c.logged.load(r),
                  .refused = c.refused.load(r),
                  .forwarded_unready = c.forwarded_unready.load(r),
                  .waits = c.waits.load(r),
                  .waiting = c.waiting.load(r),
                  .shape_passes = c.shape_passes.load(r)};
    if (g.state() == guard::GuardLoadState::ready) {
        s.unique_index = {.enforced = g.table().has_unique_index_on_key,
                          .indexes = g.table().enforcing_indexes,
                          .source = "key set load"};
    } else {
        s.unique_index.source = "unknown: the guard's table is not resolved yet";
    }
    return s;
}

admin::HistogramSnapshot histogram_of(const std::vector<const WorkerMetrics*>& workers,
                                      std::size_t kind) {
    admin::HistogramSnapshot h;
    for (auto bound : processing_bounds_ns) h.upper_bounds_seconds.push_back(bound / 1e9);
    h.buckets.assign(processing_bounds_ns.size() + 1, 0);
    std::uint64_t sum_ns = 0;
    for (const auto* w : workers) {
        const auto& p = w->processing[kind];
        for (std::size_t i = 0; i < h.buckets.size(); ++i) h.buckets[i] += p.bucket(i);
        sum_ns += p.sum_ns();
    }
    h.sum_seconds = static_cast<double>(sum_ns) / 1e9;
    return h;
}

admin::Reply text(unsigned status, std::string body) {
    return admin::Reply{.status = status, .body = std::move(body)};
}
}  // namespace

admin::MetricsSnapshot AdminRoutes::metrics() const {
    return metrics(shared_.reloadable.current().value);
}

admin::MetricsSnapshot AdminRoutes::metrics(const Reloadable& now) const {
    const auto& cfg = *shared_.config;
    admin::MetricsSnapshot s;
    s.version = UNIQGUARD_VERSION;
    s.protocol = cfg.listen.protocol == config::Protocol::mysql ? "mysql" : "postgres";
    constexpr auto r = std::memory_order_relaxed;
    s.connections_open = shared_.connections.current.load(r);
    s.connections_accepted = shared_.connections.total.load(r);
    s.connections_rejected = shared_.connections.rejected.load(r);
    for (std::size_t k = 0; k < statement_kind_count; ++k) {
        admin::StatementKindSnapshot kind{.kind = statement_kind_names[k]};
        for (const auto* w : workers_) kind.statements += w->statements[k].value();
        kind.processing = histogram_of(workers_, k);
        s.statements.push_back(std::move(kind));
    }
    for (const auto& g : now.guards->guards()) s.guards.push_back(snapshot_of(*g));
    return s;
}

asio::awaitable<admin::Reply> AdminRoutes::handle(std::string path) {
    if (path == "/healthz") co_return text(200, "ok\n");
    if (path == "/readyz") co_return co_await ready();
    if (path == "/metrics") {
        co_return admin::Reply{.status = 200,
                               .content_type = std::string(admin::prometheus_content_type),
                               .body = admin::render_prometheus(metrics())};
    }
    if (path == "/guards") co_return co_await guards();
    co_return text(404,
                   "not found: the admin endpoint serves /healthz, /readyz, /metrics, /guards\n");
}

asio::awaitable<admin::Reply> AdminRoutes::ready() {
    std::vector<std::string> reasons;
    if (shared_.shutting_down) reasons.push_back("shutting down");
    {
        // Reachable means a TCP connection opens: the proxy's own account is the loader's
        // business, and its failures show below as guards not ready.
        tcp::socket probe(co_await asio::this_coro::executor);
        asio::steady_timer deadline(probe.get_executor(), backend_probe_timeout);
        const auto& address = shared_.config->backend.address;
        auto outcome =
            co_await (connect_tcp_with_deadline(probe, address) || deadline.async_wait(use_tuple));
        std::string why = outcome.index() == 1
                              ? fmt::format("timed out after {} ms", backend_probe_timeout.count())
                              : std::get<0>(outcome);
        if (!why.empty())
            reasons.push_back(fmt::format("backend {} unreachable: {}", address.to_string(), why));
    }
    const auto now = shared_.reloadable.current().value;
    for (const auto& g : now.guards->guards()) {
        const auto state = g->state();
        if (state == guard::GuardLoadState::ready) continue;
        std::string why =
            fmt::format("guard {}: key set {}", g->config().name,
                        state == guard::GuardLoadState::loading ? "loading" : "not loaded");
        if (state == guard::GuardLoadState::failed) why += ": " + g->failure();
        reasons.push_back(std::move(why));
    }
    if (reasons.empty()) co_return text(200, "ready\n");
    std::string body = "not ready\n";
    for (const auto& r : reasons) body += r + "\n";
    co_return text(503, std::move(body));
}

asio::awaitable<admin::Reply> AdminRoutes::guards() {
    const auto now = shared_.reloadable.current().value;
    auto snapshot = metrics(now);
    co_await look_up_unique_indexes(now, snapshot.guards);
    co_return admin::Reply{.status = 200,
                           .content_type = "application/json",
                           .body = admin::render_guards_json(snapshot.guards)};
}

asio::awaitable<std::string> AdminRoutes::read_unique_indexes(
    pgclient::PgConnection& conn, const Reloadable& now,
    std::vector<admin::GuardSnapshot>& snapshots) {
    if (auto st = co_await conn.connect(now.config->backend, *now.backend_tls); !st)
        co_return st.error().describe();
    const auto& guards = now.guards->guards();
    for (std::size_t i = 0; i < guards.size(); ++i) {
        auto table = co_await guard::load_guard_table(conn, guards[i]->config());
        auto& u = snapshots[i].unique_index;
        if (!table) {
            u.source = u.enforced
                           ? "key set load (the catalog now: " + table.error().describe() + ")"
                           : "unknown: " + table.error().describe();
            continue;
        }
        u = {.enforced = table->has_unique_index_on_key,
             .indexes = table->enforcing_indexes,
             .source = "catalog now"};
    }
    co_await conn.close();
    co_return std::string{};
}

asio::awaitable<void> AdminRoutes::look_up_unique_indexes(
    const Reloadable& now, std::vector<admin::GuardSnapshot>& snapshots) {
    if (now.guards->empty()) co_return;
    if (shared_.config->listen.protocol != config::Protocol::postgres) co_return;
    // The same rule as `uniqguard check` and the key-set loader (guard_catalog.hpp), asked again
    // now: a CREATE UNIQUE INDEX since the load is exactly what an operator waits to see.
    pgclient::PgConnection conn;
    asio::steady_timer deadline(co_await asio::this_coro::executor, catalog_timeout);
    auto outcome =
        co_await (read_unique_indexes(conn, now, snapshots) || deadline.async_wait(use_tuple));
    std::string why = outcome.index() == 1
                          ? fmt::format("timed out after {} ms", catalog_timeout.count())
                          : std::get<0>(outcome);
    if (why.empty()) co_return;
    for (auto& s : snapshots) {
        if (s.unique_index.source == "catalog now") continue;
        if (s.unique_index.enforced)
            s.unique_index.source = "key set load (the catalog could not be read now: " + why + ")";
        else
            s.unique_index.source = "unknown: the catalog could not be read: " + why;
    }
}

}  // namespace uniqguard::proxy
