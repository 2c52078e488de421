// The admin endpoint's pages (SPEC §2 [admin], §6): what /healthz, /readyz, /metrics and /guards
// answer, gathered from the running proxy into admin/snapshot.hpp's plain data. The HTTP side is
// admin/http_server.hpp; both run on the main io_context.
#pragma once

#include <vector>

#include "admin/http_server.hpp"
#include "admin/snapshot.hpp"
#include "pgclient/connection.hpp"
#include "proxy/shared_state.hpp"
#include "proxy/worker_metrics.hpp"

namespace uniqguard::proxy {

class AdminRoutes {
  public:
    // `workers`: every worker's counters, alive as long as this object.
    AdminRoutes(SharedState& shared, std::vector<const WorkerMetrics*> workers)
        : shared_(shared), workers_(std::move(workers)) {}

    asio::awaitable<admin::Reply> handle(std::string path);

    // The counters and guards as they are now (the sum over the workers).
    admin::MetricsSnapshot metrics() const;

  private:
    // The same, for `now`'s guards (one registry for a whole page: a reload may publish another
    // while the page is made).
    admin::MetricsSnapshot metrics(const Reloadable& now) const;
    asio::awaitable<admin::Reply> ready();
    asio::awaitable<admin::Reply> guards();
    // Asks the catalog whether a unique index enforces each guard's key now (the migration may
    // have landed since the key set loaded); falls back to what the load found.
    asio::awaitable<void> look_up_unique_indexes(const Reloadable& now,
                                                 std::vector<admin::GuardSnapshot>& guards);
    // Fills what the catalog says; "" or why the catalog could not be read.
    asio::awaitable<std::string> read_unique_indexes(pgclient::PgConnection& conn,
                                                     const Reloadable& now,
                                                     std::vector<admin::GuardSnapshot>& guards);

    SharedState& shared_;
    std::vector<const WorkerMetrics*> workers_;
};

}  // namespace uniqguard::proxy
