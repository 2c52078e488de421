// Rebuilding a guard's key set after a TRUNCATE of its table committed through the proxy (the
// fingerprints of the rows that are gone would otherwise each cost a check with the server
// forever), and after a reload that loaded a new key set (rows committed after its read by
// transactions that ran under the old guards are not in it: proxy/config_reload.hpp). The set
// stays in force throughout; the rebuild never drops a key that exists:
//
// 1. KeySet::begin_rebuild: from now on every key added also goes to the new set.
// 2. A new writer epoch; wait until every session that may have added keys before step 1 has
//    ended its transaction (GuardState writers of the old epoch): their rows may commit after
//    the table is read, and their keys are only in the old set. A session that stays in a
//    transaction longer than `max_wait` makes the rebuild give up (the old set stays: a stale
//    key only costs a check).
// 3. Read the table (key_set_loader, COPY on the proxy's own connection) into the new set.
//    Every row committed before the read is there; every key added after step 1 is there.
// 4. KeySet::finish_rebuild: the new set replaces the old, shard by shard.
//
// Runs on the main context; one rebuild per guard at a time (a TRUNCATE during one makes it run
// once more).
#pragma once

#include <boost/asio.hpp>
#include <chrono>

#include "guard/guard_registry.hpp"
#include "proxy/shared_state.hpp"

namespace uniqguard::proxy {

// `reason` ("after a TRUNCATE") is for the log lines; a literal. True when the last run put its
// new set in force; false when it gave up (logged; the key set stays as it was).
boost::asio::awaitable<bool> rebuild_key_set(
    SharedState& shared, guard::GuardState& guard, const char* reason,
    std::chrono::milliseconds max_wait = std::chrono::seconds(60));

}  // namespace uniqguard::proxy
