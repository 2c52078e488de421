// The sessions living on one worker's io_context. Touched only from that worker's thread, so it
// needs no lock; the Server posts drain and close requests to each worker. It also holds the
// worker's statement counters, which sessions reach through it (the admin endpoint reads them
// from the main thread: worker_metrics.hpp says how that stays lock-free).
#pragma once

#include <unordered_set>

#include "proxy/worker_metrics.hpp"

namespace uniqguard::proxy {

class Session;

class WorkerSessions {
  public:
    void add(Session* s) { sessions_.insert(s); }
    void remove(Session* s) { sessions_.erase(s); }
    std::size_t size() const { return sessions_.size(); }
    void drain_all();       // each session closes as soon as it has no statement in flight
    void close_all();       // the shutdown deadline passed: close regardless
    void guards_changed();  // a reload published new guards
    WorkerMetrics& metrics() { return metrics_; }
    const WorkerMetrics& metrics() const { return metrics_; }

  private:
    WorkerMetrics metrics_;
    std::unordered_set<Session*> sessions_;
};

}  // namespace uniqguard::proxy
