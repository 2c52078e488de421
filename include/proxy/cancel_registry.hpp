// Maps the BackendKeyData a client received to the session it belongs to, so a CancelRequest
// arriving on a fresh connection reaches the right server session. Keys the proxy never handed
// out are dropped, as PgBouncer does: the proxy is no relay for guessed keys.
// Shared by every worker thread: short critical sections, never held across co_await.
#pragma once

#include <memory>
#include <mutex>
#include <unordered_map>

#include "protocol/postgres/startup.hpp"

namespace uniqguard::proxy {

class PgSession;

class CancelRegistry {
  public:
    void add(const protocol::postgres::CancelKey& key, std::weak_ptr<PgSession> session);
    void remove(const protocol::postgres::CancelKey& key);
    std::shared_ptr<PgSession> find(const protocol::postgres::CancelKey& key) const;

  private:
    struct KeyHash {
        std::size_t operator()(const protocol::postgres::CancelKey& k) const {
            return (std::size_t{k.process_id} << 32) ^ k.secret_key;
        }
    };
    mutable std::mutex mutex_;
    std::unordered_map<protocol::postgres::CancelKey, std::weak_ptr<PgSession>, KeyHash> sessions_;
};

}  // namespace uniqguard::proxy
