// Reload on SIGHUP (SPEC §2): the config file is read again and, if it passes every check,
// applied without dropping a client connection. Runs on the main context; one reload at a time
// (a SIGHUP during one runs another after it).
//
// 1. Load and validate the file (the loader's own messages); refuse it when a setting that only a
//    restart can change differs (config/config_diff.hpp) or this build cannot run it.
// 2. Build the TLS contexts again from the files (certificates re-read even when their paths are
//    unchanged): a file that cannot be used refuses the reload.
// 3. A new GuardRegistry: a guard whose key definition is unchanged shares the running guard's
//    key set (and counters) unless backend.database or backend.user changed; the others load theirs
//    now, in the background, on the proxy's own connection, while the old guards stay in force. Any
//    guard that cannot be loaded (no such table or column, backend down) refuses the reload:
//    nothing changes.
// 4. Publish (ReloadableState): new sessions start with the new config, TLS and guards; running
//    sessions keep their config and TLS, and take the new guards between two transactions (a
//    transaction ends under the guards it began with). The log level and admin token apply; the
//    duplicate log file is reopened (log rotation).
// 5. Catch-up: the new key sets were read while sessions still wrote under older guards. Once
//    nothing holds a registry replaced by this or an earlier reload (each session has ended the
//    transaction it had open then), each new key set is rebuilt once (proxy/key_set_rebuild.hpp,
//    retried until it succeeds), so that rows committed after its first read are in it. Until
//    then a duplicate of such a row may pass: docs/operations.md.
//
// A reload that fails logs one error line naming the reason and ends with "nothing changed".
#pragma once

#include <boost/asio.hpp>
#include <functional>
#include <optional>

#include "config/config.hpp"
#include "proxy/shared_state.hpp"

namespace uniqguard::proxy {

struct ReloadHooks {
    // Tells every worker that new guards are published (WorkerSessions::guards_changed).
    std::function<void()> tell_workers;
    // Starts a rebuild of one guard's key set (the Server's, as for a TRUNCATE).
    guard::GuardRegistry::RebuildStarter rebuild;
    // The new config is in force: what the main thread itself reads (admin token, max_clients).
    std::function<void(std::shared_ptr<const config::Config>)> applied;
};

class ConfigReloader {
  public:
    ConfigReloader(asio::io_context& main, SharedState& shared, ReloadHooks hooks,
                   asio::steady_timer& stop);

    // SIGHUP. Returns at once; the reload runs on the main context.
    void request();

  private:
    asio::awaitable<void> run();
    // One reload: true when applied.
    asio::awaitable<bool> reload_once();
    // Waits until nothing holds a registry of `older`, then rebuilds each of `fresh` (retried
    // until it succeeds).
    asio::awaitable<void> catch_up(std::vector<std::weak_ptr<const guard::GuardRegistry>> older,
                                   std::vector<std::shared_ptr<guard::GuardState>> fresh);

    asio::io_context& main_;
    SharedState& shared_;
    ReloadHooks hooks_;
    asio::steady_timer& stop_;  // cancelled at shutdown
    bool running_ = false;
    bool again_ = false;
    // Registries replaced by reloads that something may still hold.
    std::vector<std::weak_ptr<const guard::GuardRegistry>> retired_;
};

}  // namespace uniqguard::proxy
