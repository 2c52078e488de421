// Loads every guard's table description and key set at start, in the background (SPEC §5 cache
// mode): sessions run meanwhile, and writes to a guard's table follow its when_unready until
// the guard is ready. A backend that is down, or a guard that cannot be resolved, is retried; the
// reason is logged and kept for /readyz.
#pragma once

#include <boost/asio.hpp>

#include "guard/guard_registry.hpp"
#include "pgclient/connection.hpp"
#include "proxy/shared_state.hpp"

namespace uniqguard::proxy {

// Runs on `shared`'s backend settings until every guard in force is ready (one connection,
// guards one after the other).
boost::asio::awaitable<void> load_guards(SharedState& shared);

// One guard's table description and key set, on `conn`: true when it is ready; false when it
// failed (the reason is logged and kept in the guard).
boost::asio::awaitable<bool> load_guard(pgclient::PgConnection& conn, guard::GuardState& g);

}  // namespace uniqguard::proxy
