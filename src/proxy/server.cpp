#include "proxy/server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <cstdlib>
#include <future>

#include "protocol/mysql/error_codes.hpp"
#include "protocol/postgres/message_writer.hpp"
#include "proxy/config_reload.hpp"
#include "proxy/key_set_loading.hpp"
#include "proxy/key_set_rebuild.hpp"
#include "proxy/mysql_key_set_loading.hpp"
#include "proxy/mysql_refusal.hpp"
#include "proxy/mysql_session.hpp"
#include "proxy/pg_refusal.hpp"
#include "proxy/pg_session.hpp"
#include "proxy/tls_contexts.hpp"
#include "util/cpu_count.hpp"

namespace uniqguard::proxy {

using namespace asio::experimental::awaitable_operators;

namespace {
void log_exception(const char* what, std::exception_ptr e) {
    if (!e) return;
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        spdlog::error("{}: {}", what, ex.what());
    }
}
}  // namespace

Server::Server(std::shared_ptr<const config::Config> config) { shared_.config = std::move(config); }

Server::~Server() {
    for (auto& w : workers_) {
        w->context.stop();
        if (w->thread.joinable()) w->thread.join();
    }
}

int Server::run() {
    const auto& cfg = *shared_.config;
    // First, before the listening socket exists: a SIGHUP sent as soon as the port accepts a
    // connection must find the handler, not the default action, which ends the process. A signal
    // that comes before the coroutine below waits is kept by the set until it does. (Seen twice
    // in CI under ASan: a reload test's SIGHUP, sent when the port answered, was lost.)
    asio::signal_set signals(main_context_, SIGINT, SIGTERM, SIGHUP);
    auto client_tls = make_client_facing_tls(cfg.listen);
    if (!client_tls.error.empty()) {
        spdlog::critical("{}", client_tls.error);
        return 2;
    }
    auto backend_tls = make_backend_tls(cfg.backend);
    if (!backend_tls.error.empty()) {
        spdlog::critical("{}", backend_tls.error);
        return 2;
    }
    // Opened with or without guards: a reload may add the first one.
    guard::DuplicateLogOptions options;
    options.log_values = cfg.log.log_values;
    options.values_key = cfg.log.values_key.value_or("");
    auto log = guard::DuplicateLog::open(cfg.log.duplicates, options);
    if (!log) {
        spdlog::critical("log.duplicates: {}", log.error);
        return 2;
    }
    shared_.duplicates = std::move(log.log);
    auto registry = std::make_shared<guard::GuardRegistry>(cfg.guards);
    registry->set_rebuild_starter(rebuild_starter());
    shared_.reloadable.publish({.config = shared_.config,
                                .client_tls = std::move(client_tls.context),
                                .backend_tls = std::move(backend_tls.context),
                                .guards = std::move(registry)});
    current_config_ = shared_.config;

    tcp::acceptor acceptor(main_context_);
    {
        error_code ec;
        const auto address = asio::ip::make_address(cfg.listen.address.host, ec);
        if (ec) {
            spdlog::critical("listen.address: {} is not an IP address", cfg.listen.address.host);
            return 2;
        }
        const tcp::endpoint endpoint(address, cfg.listen.address.port);
        acceptor.open(endpoint.protocol(), ec);
        if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
        if (!ec) acceptor.bind(endpoint, ec);
        if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
        if (ec) {
            spdlog::critical("cannot listen on {}: {}", cfg.listen.address.to_string(),
                             ec.message());
            return 2;
        }
    }

    // PostgreSQL: half the cores. The proxy shares its machine with clients or the database,
    // and fewer threads mean fewer wake-ups per transaction. MySQL: every core. MariaDB's
    // statements cost its server so little that one proxy thread, on which every session
    // waits, leaves a core idle (docs/architecture.md, "Threads", has the figures).
    const unsigned cores = util::usable_cores();  // a container's CPU quota and cpuset included
    unsigned threads =
        cfg.listen.protocol == config::Protocol::mysql ? cores : std::max(1u, cores / 2);
    if (const char* w = std::getenv("UNIQGUARD_WORKERS")) threads = std::max(1, std::atoi(w));
    for (unsigned i = 0; i < threads; ++i) workers_.push_back(std::make_unique<Worker>());
    for (auto& w : workers_) {
        w->thread = std::thread([ctx = &w->context] {
            auto guard = asio::make_work_guard(*ctx);
            ctx->run();
        });
    }

    if (!start_admin()) return 2;

    asio::co_spawn(main_context_, accept_loop(acceptor),
                   [](std::exception_ptr e) { log_exception("accept loop", e); });
    asio::co_spawn(main_context_, wait_for_signal(acceptor, signals),
                   [](std::exception_ptr e) { log_exception("signal handler", e); });
    // Raced with a timer that shutdown cancels: a key set still loading must not hold the main
    // context (and the process) open. Rebuilds and reloads stop with it too.
    loader_stop_.emplace(main_context_, asio::steady_timer::time_point::max());
    if (!cfg.guards.empty() && cfg.listen.protocol == config::Protocol::mysql)
        asio::co_spawn(main_context_,
                       load_mysql_guards(shared_) || loader_stop_->async_wait(use_tuple),
                       [](std::exception_ptr e, auto) { log_exception("key set loading", e); });
    else if (!cfg.guards.empty())
        asio::co_spawn(main_context_, load_guards(shared_) || loader_stop_->async_wait(use_tuple),
                       [](std::exception_ptr e, auto) { log_exception("key set loading", e); });
    reloader_.emplace(main_context_, shared_,
                      ReloadHooks{.tell_workers =
                                      [this] {
                                          for (auto& w : workers_)
                                              asio::post(w->context, [w = w.get()] {
                                                  w->sessions.guards_changed();
                                              });
                                      },
                                  .rebuild = rebuild_starter(),
                                  .applied =
                                      [this](std::shared_ptr<const config::Config> next) {
                                          current_config_ = next;
                                          admin_options_.token = next->admin.token;
                                      }},
                      *loader_stop_);
    spdlog::info("uniqguard {} listening on {} ({}), backend {}, {} worker threads",
                 UNIQGUARD_VERSION, cfg.listen.address.to_string(),
                 cfg.listen.protocol == config::Protocol::postgres ? "postgres" : "mysql",
                 cfg.backend.address.to_string(), threads);
    main_context_.run();

    for (auto& w : workers_) {
        w->context.stop();
        w->thread.join();
    }
    workers_.clear();
    spdlog::info("uniqguard stopped");
    return 0;
}

guard::GuardRegistry::RebuildStarter Server::rebuild_starter() {
    // Called from a session's thread (TRUNCATE) or the reload; the rebuild runs on the main
    // context, stopped like the loader. It works on a GuardState of its own that shares the
    // guard's keys: the registry it came from may be replaced by a reload meanwhile.
    return [this](guard::GuardState& g, const char* reason) {
        auto keeper = std::make_shared<guard::GuardState>(g.config(), g.shared_keys());
        asio::post(main_context_, [this, keeper, reason] {
            if (shared_.shutting_down) return;
            asio::co_spawn(
                main_context_,
                rebuild_key_set(shared_, *keeper, reason) || loader_stop_->async_wait(use_tuple),
                [keeper](std::exception_ptr e, auto) { log_exception("key set rebuild", e); });
        });
    };
}

asio::awaitable<void> Server::accept_loop(tcp::acceptor& acceptor) {
    const auto& cfg = *shared_.config;  // listen.protocol: a reload cannot change it
    for (;;) {
        Worker& worker = *workers_[next_worker_++ % workers_.size()];
        auto [ec, socket] = co_await acceptor.async_accept(worker.context, use_tuple);
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        if (ec) {
            // Out of descriptors or a transient network error: back off instead of spinning.
            spdlog::warn("accept failed: {}", ec.message());
            asio::steady_timer backoff(main_context_, std::chrono::milliseconds(100));
            co_await backoff.async_wait(use_tuple);
            continue;
        }
        if (shared_.connections.current.load(std::memory_order_relaxed) >=
            current_config_->listen.max_clients) {
            shared_.connections.rejected.fetch_add(1, std::memory_order_relaxed);
            // What the server itself says past max_connections; clients show it verbatim.
            if (cfg.listen.protocol == config::Protocol::mysql)
                asio::co_spawn(worker.context,
                               refuse_mysql_client(std::move(socket),
                                                   {.code = protocol::mysql::error_code::con_count,
                                                    .sqlstate = "08004",
                                                    .message = "Too many connections"}),
                               asio::detached);
            else
                asio::co_spawn(worker.context,
                               refuse_postgres_client(std::move(socket), "53300",
                                                      "sorry, too many clients already"),
                               asio::detached);
            continue;
        }
        if (cfg.listen.protocol == config::Protocol::mysql) {
            asio::post(worker.context, [this, &worker, s = std::move(socket)]() mutable {
                auto session =
                    std::make_shared<MySqlSession>(std::move(s), shared_, worker.sessions);
                asio::co_spawn(worker.context, MySqlSession::run(std::move(session)),
                               [](std::exception_ptr e) { log_exception("session", e); });
            });
            continue;
        }
        asio::post(worker.context, [this, &worker, s = std::move(socket)]() mutable {
            auto session = std::make_shared<PgSession>(std::move(s), shared_, worker.sessions);
            asio::co_spawn(worker.context, PgSession::run(std::move(session)),
                           [](std::exception_ptr e) { log_exception("session", e); });
        });
    }
}

asio::awaitable<void> Server::wait_for_signal(tcp::acceptor& acceptor, asio::signal_set& signals) {
    int signo = 0;
    for (;;) {
        auto [ec, received] = co_await signals.async_wait(use_tuple);
        if (ec) co_return;
        if (received != SIGHUP) {
            signo = received;
            break;
        }
        spdlog::info("received SIGHUP: reloading the configuration");
        reloader_->request();
    }
    spdlog::info("received {}: no new connections; finishing statements in flight",
                 signo == SIGINT ? "SIGINT" : "SIGTERM");
    shared_.shutting_down = true;
    if (loader_stop_) loader_stop_->cancel();
    error_code ignored;
    acceptor.close(ignored);
    // The admin endpoint stops with the listener: a probe during the drain gets no answer,
    // which orchestrators read as "going away".
    if (admin_stop_) admin_stop_->cancel();
    if (admin_acceptor_) admin_acceptor_->close(ignored);
    co_await drain_and_stop();
}

bool Server::start_admin() {
    const auto& admin = shared_.config->admin;
    error_code ec;
    const auto address = asio::ip::make_address(admin.address.host, ec);
    if (ec) {
        spdlog::critical("admin.address: {} is not an IP address", admin.address.host);
        return false;
    }
    const tcp::endpoint endpoint(address, admin.address.port);
    admin_acceptor_.emplace(main_context_);
    admin_acceptor_->open(endpoint.protocol(), ec);
    if (!ec) admin_acceptor_->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) admin_acceptor_->bind(endpoint, ec);
    if (!ec) admin_acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        spdlog::critical("cannot listen on admin.address {}: {}", admin.address.to_string(),
                         ec.message());
        return false;
    }
    std::vector<const WorkerMetrics*> metrics;
    for (const auto& w : workers_) metrics.push_back(&w->sessions.metrics());
    admin_routes_ = std::make_unique<AdminRoutes>(shared_, std::move(metrics));
    admin_options_.token = admin.token;
    admin_stop_.emplace(main_context_, asio::steady_timer::time_point::max());
    auto* routes = admin_routes_.get();
    admin::Handler handler = [routes](std::string path) { return routes->handle(std::move(path)); };
    asio::co_spawn(
        main_context_,
        admin::serve_http(*admin_acceptor_, admin_options_, std::move(handler), *admin_stop_),
        [](std::exception_ptr e) { log_exception("admin endpoint", e); });
    spdlog::info("admin endpoint on http://{} (/healthz /readyz /metrics /guards){}",
                 admin.address.to_string(), admin.token ? ", bearer token required" : "");
    return true;
}

std::size_t Server::live_sessions() {
    return shared_.connections.current.load(std::memory_order_relaxed);
}

asio::awaitable<void> Server::drain_and_stop() {
    for (auto& w : workers_) asio::post(w->context, [w = w.get()] { w->sessions.drain_all(); });
    const auto deadline =
        std::chrono::steady_clock::now() + current_config_->listen.shutdown_timeout;
    asio::steady_timer tick(main_context_);
    while (live_sessions() > 0 && std::chrono::steady_clock::now() < deadline) {
        tick.expires_after(std::chrono::milliseconds(20));
        co_await tick.async_wait(use_tuple);
    }
    if (live_sessions() > 0) {
        spdlog::warn("shutdown timeout: closing {} sessions still busy", live_sessions());
        for (auto& w : workers_) asio::post(w->context, [w = w.get()] { w->sessions.close_all(); });
        tick.expires_after(std::chrono::milliseconds(200));
        co_await tick.async_wait(use_tuple);
    }
    // No stop(): main_context_.run() returns once the accept loop has seen its aborted accept.
    // That pending accept holds a socket of a worker's context, so it must complete before the
    // workers are destroyed.
}

}  // namespace uniqguard::proxy
