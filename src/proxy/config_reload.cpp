#include "proxy/config_reload.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include "config/build_limits.hpp"
#include "config/config_diff.hpp"
#include "config/loader.hpp"
#include "guard/duplicate_log.hpp"
#include "pgclient/connection.hpp"
#include "proxy/key_set_loading.hpp"
#include "proxy/key_set_rebuild.hpp"
#include "proxy/tls_contexts.hpp"
#include "util/gcc12_coroutine_frames.hpp"
#include "util/join.hpp"

namespace uniqguard::proxy {

using namespace asio::experimental::awaitable_operators;

namespace {
constexpr auto release_poll = std::chrono::milliseconds(20);
constexpr auto waiting_report = std::chrono::seconds(30);
constexpr auto catch_up_retry = std::chrono::seconds(5);
// How long the catch-up waits for sessions that began writing before it (see key_set_rebuild).
constexpr auto catch_up_max_wait = std::chrono::minutes(10);

void refuse(const std::string& why) { spdlog::error("reload: {}; nothing changed", why); }

// "guards added: a; removed: b" from the parts that are not empty.
std::string describe(const config::GuardChanges& c) {
    std::vector<std::string> parts;
    auto add = [&](const char* what, const std::vector<std::string>& names) {
        if (!names.empty()) parts.push_back(std::string(what) + ": " + util::join(names, ", "));
    };
    add("guards added", c.added);
    add("removed", c.removed);
    add("new key set", c.rekeyed);
    add("settings changed", c.adjusted);
    add("unchanged", c.unchanged);
    return parts.empty() ? "no guards" : util::join(parts, "; ");
}
}  // namespace

ConfigReloader::ConfigReloader(asio::io_context& main, SharedState& shared, ReloadHooks hooks,
                               asio::steady_timer& stop)
    : main_(main), shared_(shared), hooks_(std::move(hooks)), stop_(stop) {}

void ConfigReloader::request() {
    if (running_) {
        again_ = true;  // run() looks at it before it ends
        return;
    }
    running_ = true;
    asio::co_spawn(main_, run() || stop_.async_wait(use_tuple), asio::detached);
}

asio::awaitable<void> ConfigReloader::run() {
    do {
        again_ = false;
        try {
            co_await reload_once();
        } catch (const std::exception& e) {
            refuse(e.what());
        }
    } while (again_ && !shared_.shutting_down);
    // Here, not in a completion handler: a SIGHUP handled between the loop's end and such a
    // handler would set again_ for a loop that no longer runs.
    running_ = false;
}

asio::awaitable<bool> ConfigReloader::reload_once() {
    auto running = shared_.reloadable.current().value;
    const std::string path = running.config->source_path;  // a copy: `running` is reset below
    spdlog::info("reload: reading {}", path);
    auto loaded = config::load_file(path);
    if (!loaded) {
        refuse(loaded.error->message);
        co_return false;
    }
    auto next = std::make_shared<const config::Config>(std::move(*loaded.config));
    if (auto keys = config::restart_only_changes(*shared_.config, *next); !keys.empty()) {
        refuse(path + ": " + util::join(keys, ", ") +
               " cannot change while the proxy runs (restart it to change " +
               (keys.size() == 1 ? "it" : "them") + ")");
        co_return false;
    }
    if (auto why = config::refused_by_this_build(*next)) {
        refuse(path + ": " + *why);
        co_return false;
    }
    auto client_tls = make_client_facing_tls(next->listen);
    if (!client_tls.error.empty()) {
        refuse(client_tls.error);
        co_return false;
    }
    auto backend_tls = make_backend_tls(next->backend);
    if (!backend_tls.error.empty()) {
        refuse(backend_tls.error);
        co_return false;
    }

    // Key sets are read with the proxy's own account in backend.database: with another database
    // or user (whose search_path may find other tables) no key set can be kept.
    const bool same_source = next->backend.database == running.config->backend.database &&
                             next->backend.user == running.config->backend.user;
    auto registry = same_source
                        ? std::make_shared<guard::GuardRegistry>(next->guards, *running.guards)
                        : std::make_shared<guard::GuardRegistry>(next->guards);
    registry->set_rebuild_starter(hooks_.rebuild);
    const auto fresh = registry->fresh_guards();
    if (next->listen.protocol == config::Protocol::mysql &&
        (!fresh.empty() || config::guard_changes(running.config->guards, next->guards).any())) {
        // The MySQL key sets are loaded at start only (proxy/mysql_key_set_loading), and MySQL
        // sessions keep the guards they started with: new or changed guards, or key sets that
        // would have to be read again (another backend.user or backend.database), wait for a
        // restart.
        refuse(path +
               ": [[guard]] sections (and the account that loads their key sets) cannot change "
               "by a reload on MySQL/MariaDB yet; restart the proxy to change them");
        co_return false;
    }
    if (!fresh.empty()) {
        // The old guards stay in force while the new key sets load.
        pgclient::PgConnection conn;
        if (auto st = co_await conn.connect(next->backend, *backend_tls.context); !st) {
            refuse("cannot connect to the backend to load the new guards' key sets: " +
                   st.error().describe());
            co_return false;
        }
        for (auto* g : fresh) {
            if (shared_.shutting_down) co_return false;
            if (!co_await load_guard(conn, *g)) {
                co_await conn.close();
                refuse("guard " + g->config().name + ": " + g->failure());
                co_return false;
            }
        }
        co_await conn.close();
    }

    for (const auto& line : config::not_built_yet(*next)) spdlog::warn("{}", line);
    const auto changes = config::guard_changes(running.config->guards, next->guards);
    // Every registry replaced so far and still held: a session may still be in a transaction
    // begun under any of them (not only the one this reload replaces).
    std::erase_if(retired_, [](const auto& r) { return r.expired(); });
    retired_.push_back(running.guards);
    std::vector<std::shared_ptr<guard::GuardState>> catching_up;
    for (auto* g : fresh)
        catching_up.push_back(std::make_shared<guard::GuardState>(g->config(), g->shared_keys()));
    shared_.reloadable.publish({.config = next,
                                .client_tls = std::move(client_tls.context),
                                .backend_tls = std::move(backend_tls.context),
                                .guards = std::move(registry)});
    running = {};  // the old registry now lives only in sessions still in a transaction
    spdlog::set_level(spdlog::level::from_str(next->log.level));
    if (shared_.duplicates) shared_.duplicates->reopen();
    hooks_.applied(next);
    hooks_.tell_workers();
    spdlog::info("reload: applied {}: {}{}; TLS contexts rebuilt; log level {}", path,
                 describe(changes),
                 same_source ? ""
                             : " (backend.database or backend.user changed: every key set "
                               "read again)",
                 next->log.level);
    if (!catching_up.empty())
        asio::co_spawn(main_,
                       catch_up(retired_, std::move(catching_up)) || stop_.async_wait(use_tuple),
                       asio::detached);
    co_return true;
}

asio::awaitable<void> ConfigReloader::catch_up(
    std::vector<std::weak_ptr<const guard::GuardRegistry>> older,
    std::vector<std::shared_ptr<guard::GuardState>> fresh) {
    asio::steady_timer timer(main_);
    auto holders = [&] {
        long n = 0;
        for (const auto& r : older) n += r.use_count();
        return n;
    };
    auto next_report = std::chrono::steady_clock::now() + waiting_report;
    while (holders() > 0) {
        if (shared_.shutting_down) co_return;
        if (std::chrono::steady_clock::now() >= next_report) {
            spdlog::warn(
                "reload: the new key sets wait for {} holder(s) of older guards (sessions in a "
                "transaction begun before the reload, or a key-set load in progress)",
                holders());
            next_report += waiting_report;
        }
        timer.expires_after(release_poll);
        co_await timer.async_wait(use_tuple);
    }
    // Round-robin, so that one guard that cannot be read does not hold up the others.
    while (!fresh.empty()) {
        if (shared_.shutting_down) co_return;
        {
            // A later reload may have dropped a guard (its keys no longer in force): no catch-up.
            const auto now = shared_.reloadable.current().value;
            std::erase_if(fresh, [&](const auto& g) {
                const auto& in_force = now.guards->guards();
                return std::none_of(in_force.begin(), in_force.end(), [&](const auto& f) {
                    return f->shared_keys() == g->shared_keys();
                });
            });
        }
        for (auto it = fresh.begin(); it != fresh.end();) {
            auto& g = **it;
            // A rebuild running already (after a TRUNCATE) may have read the table too early:
            // this one runs after it.
            if (g.claim_rebuild() &&
                co_await rebuild_key_set(shared_, g, "after the reload", catch_up_max_wait)) {
                it = fresh.erase(it);
                continue;
            }
            ++it;
        }
        if (fresh.empty()) break;
        // Until it succeeds a duplicate of a row written under the old guards may pass.
        for (const auto& g : fresh)
            spdlog::warn("guard {}: the catch-up after the reload is retried in {} s",
                         g->config().name, catch_up_retry.count());
        timer.expires_after(catch_up_retry);
        co_await timer.async_wait(use_tuple);
    }
}

}  // namespace uniqguard::proxy
