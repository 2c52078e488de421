// The running proxy: one acceptor on the main thread's io_context, one io_context per worker
// thread for the sessions (both sockets of a session live on one worker, so a session needs no
// strand and no lock), reload on SIGHUP (config_reload.hpp) and graceful shutdown on
// SIGINT/SIGTERM.
#pragma once

#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "proxy/admin_routes.hpp"
#include "proxy/config_reload.hpp"
#include "proxy/shared_state.hpp"
#include "proxy/worker_sessions.hpp"

namespace uniqguard::proxy {

class Server {
  public:
    explicit Server(std::shared_ptr<const config::Config> config);
    ~Server();

    // Binds, starts the workers and serves until a signal; then drains within
    // listen.shutdown_timeout_ms. Returns the process exit status (0 clean, 2 startup error).
    int run();

  private:
    struct Worker {
        asio::io_context context{1};  // one thread runs it: Asio may skip its locking
        WorkerSessions sessions;
        std::thread thread;
    };

    asio::awaitable<void> accept_loop(tcp::acceptor& acceptor);
    asio::awaitable<void> wait_for_signal(tcp::acceptor& acceptor, asio::signal_set& signals);
    asio::awaitable<void> drain_and_stop();
    // Binds admin.address and serves the admin endpoint on the main context; false when the
    // address cannot be bound (a startup error, logged).
    bool start_admin();
    std::size_t live_sessions();
    guard::GuardRegistry::RebuildStarter rebuild_starter();

    asio::io_context main_context_{1};
    SharedState shared_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::size_t next_worker_ = 0;
    std::optional<asio::steady_timer> loader_stop_;  // cancelled at shutdown
    // The config in force (the main thread's copy; sessions read ReloadableState).
    std::shared_ptr<const config::Config> current_config_;
    std::optional<ConfigReloader> reloader_;
    std::optional<tcp::acceptor> admin_acceptor_;
    std::optional<asio::steady_timer> admin_stop_;  // cancelled at shutdown: ends admin requests
    std::unique_ptr<AdminRoutes> admin_routes_;
    admin::HttpOptions admin_options_;
};

}  // namespace uniqguard::proxy
