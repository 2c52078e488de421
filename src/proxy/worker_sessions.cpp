#include "proxy/worker_sessions.hpp"

#include <vector>

#include "proxy/session.hpp"

namespace uniqguard::proxy {

void WorkerSessions::drain_all() {
    // A session may end (and remove itself) while we call it: iterate over a copy.
    std::vector<Session*> all(sessions_.begin(), sessions_.end());
    for (auto* s : all)
        if (sessions_.contains(s)) s->begin_drain();
}

void WorkerSessions::close_all() {
    std::vector<Session*> all(sessions_.begin(), sessions_.end());
    for (auto* s : all)
        if (sessions_.contains(s)) s->close_now();
}

void WorkerSessions::guards_changed() {
    std::vector<Session*> all(sessions_.begin(), sessions_.end());
    for (auto* s : all)
        if (sessions_.contains(s)) s->guards_changed();
}

}  // namespace uniqguard::proxy
