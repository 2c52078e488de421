// A read that remembers when it emptied the socket, so that the next read waits for the reactor
// instead of trying a recv that would fail.
//
// Why: Asio's reactor (epoll, edge-triggered, Boost 1.81) starts every socket read with a
// "speculative" recv and only waits for readiness when that recv says EAGAIN. A proxy in a
// request/response exchange nearly always reads from a socket whose peer has nothing more to
// say yet (the client after its Sync, the server after its ReadyForQuery), so every transaction
// paid two recv calls that failed, one per direction: about a third of the proxy's system calls
// (strace: 7 per prepared INSERT against PgBouncer's 5).
//
// The reactor skips that recv when a descriptor's `try_speculative_` flag is off, and turns the
// flag on again whenever epoll reports the descriptor readable. Asio's own receive turns it off
// only at end of file. This operation also turns it off after a short read: TCP hands a recv
// everything queued, so a recv that returned less than it asked for left the socket empty, and
// any byte that arrives afterwards raises a new edge-triggered event, which sets the flag again
// (whether or not a read is waiting at that moment). So the next read is queued for the
// reactor without a system call, and still completes as soon as bytes arrive.
//
// It relies on Asio's reactor internals (boost::asio::detail), as Boost 1.81 has them; the
// static_asserts below stop the build if the reactor is not the epoll one.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/detail/epoll_reactor.hpp>
#include <boost/asio/detail/handler_alloc_helpers.hpp>
#include <boost/asio/detail/handler_work.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/detail/socket_ops.hpp>
#include <memory>
#include <type_traits>

namespace uniqguard::proxy {

namespace drained_read_detail {

namespace asio = boost::asio;
namespace ad = boost::asio::detail;

static_assert(std::is_same_v<ad::reactor, ad::epoll_reactor>,
              "drained_read is written for Asio's epoll reactor");

// The receive operation: Asio's stream-socket receive, except that a short read reports the
// socket as exhausted.
template <typename Handler, typename IoExecutor>
class DrainedRecvOp : public ad::reactor_op {
  public:
    BOOST_ASIO_DEFINE_HANDLER_PTR(DrainedRecvOp);

    DrainedRecvOp(ad::socket_type socket, asio::mutable_buffer buffer, Handler& handler,
                  const IoExecutor& io_ex)
        : ad::reactor_op(boost::system::error_code(), &DrainedRecvOp::do_perform,
                         &DrainedRecvOp::do_complete),
          socket_(socket),
          buffer_(buffer),
          handler_(std::move(handler)),
          work_(handler_, io_ex) {}

    static status do_perform(ad::reactor_op* base) {
        auto* o = static_cast<DrainedRecvOp*>(base);
        if (!ad::socket_ops::non_blocking_recv1(o->socket_, o->buffer_.data(), o->buffer_.size(), 0,
                                                true, o->ec_, o->bytes_transferred_))
            return not_done;  // EAGAIN: wait for the reactor
        // End of file, an error, or fewer bytes than asked: nothing is left to read now.
        if (o->ec_ || o->bytes_transferred_ < o->buffer_.size()) return done_and_exhausted;
        return done;
    }

    static void do_complete(void* owner, ad::operation* base, const boost::system::error_code&,
                            std::size_t) {
        auto* o = static_cast<DrainedRecvOp*>(base);
        ptr p = {std::addressof(o->handler_), o, o};
        ad::handler_work<Handler, IoExecutor> w(std::move(o->work_));
        // The handler is moved out before the operation's memory is freed: it may own that
        // memory (Asio's rule for every operation).
        ad::binder2<Handler, boost::system::error_code, std::size_t> bound(o->handler_, o->ec_,
                                                                           o->bytes_transferred_);
        p.h = std::addressof(bound.handler_);
        p.reset();
        if (owner) {
            ad::fenced_block b(ad::fenced_block::half);
            w.complete(bound, bound.handler_);
        }
    }

  private:
    ad::socket_type socket_;
    asio::mutable_buffer buffer_;
    Handler handler_;
    ad::handler_work<Handler, IoExecutor> work_;
};

// Per-operation cancellation (a bound cancellation slot), as Asio's own socket operations do it.
class DrainedRecvCancellation {
  public:
    DrainedRecvCancellation(ad::epoll_reactor* reactor,
                            ad::epoll_reactor::per_descriptor_data* data, int descriptor)
        : reactor_(reactor), data_(data), descriptor_(descriptor) {}

    void operator()(asio::cancellation_type_t type) {
        if (!!(type & (asio::cancellation_type::terminal | asio::cancellation_type::partial |
                       asio::cancellation_type::total)))
            reactor_->cancel_ops_by_key(descriptor_, *data_, ad::epoll_reactor::read_op, this);
    }

  private:
    ad::epoll_reactor* reactor_;
    ad::epoll_reactor::per_descriptor_data* data_;
    int descriptor_;
};

}  // namespace drained_read_detail

// A TCP socket whose reads use DrainedRecvOp. Everything else is the plain tcp::socket.
class DrainedReadSocket : public boost::asio::ip::tcp::socket {
  public:
    explicit DrainedReadSocket(boost::asio::ip::tcp::socket socket)
        : boost::asio::ip::tcp::socket(std::move(socket)) {}

    // As async_read_some, for one buffer.
    template <typename Token>
    auto async_read_drained(boost::asio::mutable_buffer buffer, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this, buffer](auto handler) { start_read(std::move(handler), buffer); }, token);
    }

  private:
    template <typename Handler>
    void start_read(Handler handler, boost::asio::mutable_buffer buffer) {
        namespace asio = boost::asio;
        namespace ad = boost::asio::detail;
        using Executor = std::decay_t<decltype(get_executor())>;
        using Op = drained_read_detail::DrainedRecvOp<Handler, Executor>;
        auto& impl = impl_.get_implementation();
        if (!reactor_)  // once: use_service looks it up under the context's lock
            reactor_ = &asio::use_service<ad::epoll_reactor>(
                asio::query(get_executor(), asio::execution::context));
        auto& reactor = *reactor_;
        const bool is_continuation = boost_asio_handler_cont_helpers::is_continuation(handler);
        auto slot = asio::get_associated_cancellation_slot(handler);
        typename Op::ptr p = {std::addressof(handler), Op::ptr::allocate(handler), nullptr};
        p.p = new (p.v) Op(impl.socket_, buffer, handler, get_executor());
        if (slot.is_connected())
            p.p->cancellation_key_ =
                &slot.template emplace<drained_read_detail::DrainedRecvCancellation>(
                    &reactor, &impl.reactor_data_, impl.socket_);
        // As Asio's socket service: the descriptor must be non-blocking for the reactor.
        if ((impl.state_ & ad::socket_ops::non_blocking) ||
            ad::socket_ops::set_internal_non_blocking(impl.socket_, impl.state_, true, p.p->ec_))
            reactor.start_op(ad::epoll_reactor::read_op, impl.socket_, impl.reactor_data_, p.p,
                             is_continuation, true);
        else
            reactor.post_immediate_completion(p.p, is_continuation);
        p.v = p.p = nullptr;
    }

    boost::asio::detail::epoll_reactor* reactor_ = nullptr;
};

}  // namespace uniqguard::proxy
