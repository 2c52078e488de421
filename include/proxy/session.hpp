// What the Server needs from a session of either protocol: to be told to drain at shutdown, to
// be closed at the deadline, and to be told of reloaded guards. Each worker keeps its sessions
// through this interface.
#pragma once

namespace uniqguard::proxy {

class Session {
  public:
    virtual ~Session() = default;
    // Graceful shutdown: finish the statement in flight, then close.
    virtual void begin_drain() = 0;
    // Shutdown deadline: close both connections now.
    virtual void close_now() = 0;
    // A reload published new guards (ReloadableState): adopt them when no transaction is open.
    virtual void guards_changed() {}
};

}  // namespace uniqguard::proxy
