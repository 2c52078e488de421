// Which MySQL/MariaDB session the server knows by a connection id, so that `KILL QUERY <id>`
// sent through the proxy ends a statement of that session waiting inside the proxy for another
// session's key (SPEC §3): the server cannot, since the statement has not reached it.
// Shared by every worker thread: short critical sections, never held across co_await.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>

namespace uniqguard::proxy {

class ClaimWaiter;

class MySqlWaitRegistry {
  public:
    void add(std::uint32_t connection_id, std::weak_ptr<ClaimWaiter> waiter);
    void remove(std::uint32_t connection_id);
    // Ends the wait of that session's statement, if it is waiting (ERR 1317 there).
    void cancel(std::uint32_t connection_id) const;

  private:
    mutable std::mutex mutex_;
    std::unordered_map<std::uint32_t, std::weak_ptr<ClaimWaiter>> waiters_;
};

// The connection id a COM_QUERY `KILL [HARD|SOFT] QUERY <id>` names (not `KILL QUERY ID <query
// id>`, not a connection kill, which the server carries out itself), read without a parse.
std::optional<std::uint32_t> mysql_kill_query_target(std::string_view sql);

}  // namespace uniqguard::proxy
