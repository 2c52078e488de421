#include "proxy/mysql_wait_registry.hpp"

#include <cctype>

#include "proxy/claim_waiter.hpp"

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

namespace {

class KillWords {
  public:
    explicit KillWords(std::string_view s) : s_(s) {}
    // The next word (letters, digits, '_'), lower-cased; empty at anything else.
    std::string next() {
        skip_blanks();
        std::string w;
        while (i_ < s_.size() &&
               (std::isalnum(static_cast<unsigned char>(s_[i_])) != 0 || s_[i_] == '_'))
            w += static_cast<char>(std::tolower(static_cast<unsigned char>(s_[i_++])));
        return w;
    }
    bool at_end() {
        skip_blanks();
        return i_ == s_.size() || (s_[i_] == ';' && (++i_, skip_blanks(), i_ == s_.size()));
    }

  private:
    void skip_blanks() {
        for (;;) {
            while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_])) != 0) ++i_;
            // Plain comments only: an executable comment (`/*! */`) is a reason not to read it.
            if (s_.substr(i_, 2) == "/*" && s_.substr(i_, 3) != "/*!") {
                const auto end = s_.find("*/", i_ + 2);
                i_ = end == std::string_view::npos ? s_.size() : end + 2;
                continue;
            }
            return;
        }
    }
    std::string_view s_;
    std::size_t i_ = 0;
};

}  // namespace

std::optional<std::uint32_t> mysql_kill_query_target(std::string_view sql) {
    // Every COM_QUERY of a guarded session comes here: most leave at the first character.
    const auto first = sql.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos ||
        (sql[first] != 'k' && sql[first] != 'K' && sql[first] != '/'))
        return std::nullopt;
    KillWords words(sql);
    if (words.next() != "kill") return std::nullopt;
    auto w = words.next();
    if (w == "hard" || w == "soft") w = words.next();
    if (w != "query") return std::nullopt;
    const auto id = words.next();
    if (id.empty() || id.size() > 10 || id.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;  // `KILL QUERY ID n`, `KILL QUERY USER u`, an expression...
    if (!words.at_end()) return std::nullopt;
    const auto value = std::stoull(id);
    if (value > 0xFFFFFFFFull) return std::nullopt;
    return static_cast<std::uint32_t>(value);
}

}  // namespace uniqguard::proxy
