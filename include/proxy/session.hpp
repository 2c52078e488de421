// What the Server needs from a session of either protocol: to be told to drain at shutdown and
// to be closed at the deadline. Each worker keeps its sessions through this interface.
#pragma once

namespace uniqguard::proxy {

class Session {
  public:
    virtual ~Session() = default;
    // Graceful shutdown: finish the statement in flight, then close.
    virtual void begin_drain() = 0;
    // Shutdown deadline: close both connections now.
    virtual void close_now() = 0;
};

}  // namespace uniqguard::proxy
