#include "proxy/cancel_registry.hpp"

namespace uniqguard::proxy {

void CancelRegistry::add(const protocol::postgres::CancelKey& key,
                         std::weak_ptr<PgSession> session) {
    std::lock_guard lock(mutex_);
    sessions_[key] = std::move(session);
}

void CancelRegistry::remove(const protocol::postgres::CancelKey& key) {
    std::lock_guard lock(mutex_);
    sessions_.erase(key);
}

std::shared_ptr<PgSession> CancelRegistry::find(const protocol::postgres::CancelKey& key) const {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(key);
    return it == sessions_.end() ? nullptr : it->second.lock();
}

}  // namespace uniqguard::proxy
