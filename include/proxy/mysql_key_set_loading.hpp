// Loads every MySQL/MariaDB guard's key set at start (SPEC §5 cache mode), the counterpart of
// key_set_loading.hpp: on a thread of its own, since Connector/C blocks, with the proxy's own
// account (backend.user / backend.password, in backend.database). Sessions run meanwhile and
// writes to a guard's table follow its when_unready until the guard is ready. A backend that is
// down, or a guard that cannot be loaded, is retried every 5 s; the reason is logged and kept for
// /readyz.
#pragma once

#include <boost/asio.hpp>

#include "guard/guard_registry.hpp"
#include "guard/mysql_key_set_load.hpp"
#include "proxy/shared_state.hpp"

namespace uniqguard::proxy {

// Runs until every guard in force is ready (or the proxy shuts down). The blocking work runs on
// a thread this coroutine starts and joins: cancelling the await (shutdown) makes the thread
// stop at its next row or retry.
boost::asio::awaitable<void> load_mysql_guards(SharedState& shared);

// The server's global sql_mode as the loader read it when it connected (new sessions start with
// it); empty until then.
std::string mysql_global_sql_mode();

// One guard on `db` (blocking): its table's columns, its key columns with their collations'
// weights (`cache` shares them between guards), then its keys. True when it is ready; false
// when it failed (the reason is logged and kept in the guard). `stop`: checked at every row.
bool load_mysql_guard(guard::MySqlRowSource& db, const std::string& database, guard::GuardState& g,
                      guard::CollationWeightsCache& cache, const std::atomic<bool>& stop);

}  // namespace uniqguard::proxy
