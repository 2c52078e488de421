// One session's side of a wait for another session's key (guard/key_claims.hpp): a timer on the
// session's own executor that a release on any thread cancels through a post. The session's
// client pump awaits it; nothing blocks a thread.
//
// Every field but the executor is touched only on the session's thread: wake() and cancel() post
// there, so a release that comes while the pump is still deciding (between registering and
// awaiting) is seen as `woken` before the wait starts, never lost. `waiting` is also read by
// other threads (in_wait: whether a CancelRequest is the proxy's alone), so it is atomic.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "guard/key_claims.hpp"

namespace uniqguard::proxy {

class ClaimWaiter final : public guard::ClaimWaiter,
                          public std::enable_shared_from_this<ClaimWaiter> {
  public:
    explicit ClaimWaiter(boost::asio::any_io_executor executor)
        : executor_(std::move(executor)), timer(executor_) {}

    // Any thread: the claim this session waits for was released.
    void wake() override {
        boost::asio::post(executor_, [self = shared_from_this()] {
            self->woken = true;
            self->timer.cancel();
        });
    }
    // Any thread: a CancelRequest with this session's key (57014 if it is waiting).
    void cancel() {
        boost::asio::post(executor_, [self = shared_from_this()] {
            if (!self->waiting) return;  // nothing of the proxy's to cancel; the server's is
            self->cancelled = true;
            self->timer.cancel();
        });
    }
    // The session's thread, when it registers for a claim: earlier wake-ups are spent, and a
    // CancelRequest from now on ends the wait.
    void arm() {
        woken = false;
        cancelled = false;
        waiting = true;
    }

  private:
    boost::asio::any_io_executor executor_;

  public:
    boost::asio::steady_timer timer;
    std::atomic<bool> waiting{false};  // the pump is in a wait (or about to start one)
    bool woken = false;                // a claim it registered for was released since arm()
    bool cancelled = false;            // a CancelRequest came while waiting
};

}  // namespace uniqguard::proxy
