// Loads every guard's table description and key set at start, in the background (SPEC §5 cache
// mode): sessions run meanwhile, and writes to a guard's table follow its when_unready until
// the guard is ready. A backend that is down, or a guard that cannot be resolved, is retried; the
// reason is logged and kept for /readyz.
#pragma once

#include <boost/asio.hpp>

#include "guard/guard_registry.hpp"
#include "proxy/shared_state.hpp"

namespace uniqguard::proxy {

// Runs on `shared`'s backend settings until every guard is ready (one connection, guards one
// after the other).
boost::asio::awaitable<void> load_guards(SharedState& shared);

}  // namespace uniqguard::proxy
