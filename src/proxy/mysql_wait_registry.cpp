#include "proxy/mysql_wait_registry.hpp"

#include "proxy/claim_waiter.hpp"
#include "sql/mysql_leading_words.hpp"

namespace uniqguard::proxy {

void MySqlWaitRegistry::add(std::uint32_t connection_id, std::weak_ptr<ClaimWaiter> waiter) {
    std::lock_guard lock(mutex_);
    waiters_[connection_id] = std::move(waiter);
}

void MySqlWaitRegistry::remove(std::uint32_t connection_id) {
    std::lock_guard lock(mutex_);
    waiters_.erase(connection_id);
}

void MySqlWaitRegistry::cancel(std::uint32_t connection_id) const {
    std::shared_ptr<ClaimWaiter> waiter;
    {
        std::lock_guard lock(mutex_);
        auto it = waiters_.find(connection_id);
        if (it != waiters_.end()) waiter = it->second.lock();
    }
    if (waiter) waiter->cancel();  // posts to the session's thread; a no-op unless it waits
}

std::optional<std::uint32_t> mysql_kill_query_target(std::string_view sql) {
    // Every COM_QUERY of a guarded session comes here: most leave at the first character.
    const auto first = sql.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos ||
        (sql[first] != 'k' && sql[first] != 'K' && sql[first] != '/'))
        return std::nullopt;
    auto read = sql::mysql_leading_words(sql, 4);
    auto& w = read.words;
    if (w.empty() || w[0] != "kill") return std::nullopt;
    if (w.size() > 1 && (w[1] == "hard" || w[1] == "soft")) w.erase(w.begin() + 1);
    // `KILL QUERY <id>` and nothing after (not `KILL QUERY ID n`, `KILL QUERY USER u`).
    if (w.size() != 3 || w[1] != "query" || !read.rest_is_blank) return std::nullopt;
    const auto& id = w[2];
    if (id.size() > 10 || id.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    const auto value = std::stoull(id);
    if (value > 0xFFFFFFFFull) return std::nullopt;
    return static_cast<std::uint32_t>(value);
}

}  // namespace uniqguard::proxy
