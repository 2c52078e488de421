// A read that knows when it emptied the socket, so that the next read waits for the reactor
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
// only at end of file. This operation also turns it off when the kernel says, with the read,
// that nothing is left: Linux's TCP_INQ socket option adds to each recvmsg the number of bytes
// still queued, and counts a received FIN as one, so that "nothing left" also means "no end of
// file waiting to be read" (a short read alone would not: a FIN that came with the last bytes
// raises no new event). Any byte or FIN that arrives afterwards raises a new edge-triggered
// event, which sets the flag again, whether or not a read is waiting at that moment. So the next
// read is queued for the reactor without a system call, and still completes as soon as bytes
// arrive. Where TCP_INQ cannot be set, or where a self-test at first use finds that the kernel
// does not count a FIN (gVisor's netstack accepts the option without doing so), reads are
// Asio's own.
//
// Not covered: a socket error (an RST) that arrives together with the last bytes, before they
// are read, is not counted by TCP_INQ either; the read returns the bytes and the error is only
// seen when the proxy next writes to that peer (in a request/response exchange, at once), or
// never for a peer the proxy only reads from until the session ends (docs/architecture.md).
//
// It relies on Asio's reactor internals (boost::asio::detail), as Boost 1.81 has them; the
// static_assert below stops the build if the reactor is not the epoll one.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/asio/detail/epoll_reactor.hpp>
#include <boost/asio/detail/handler_alloc_helpers.hpp>
#include <boost/asio/detail/handler_work.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/detail/socket_ops.hpp>
#include <cerrno>
#include <cstring>
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
// One recvmsg into `buffer` (EINTR retried) and the bytes the kernel still holds after it, as
// TCP_INQ reports them (a FIN counted as one; -1: the kernel sent no count). `n` as recvmsg's.
struct CountedRecv {
    ssize_t n;
    int queued;
};
inline CountedRecv recv_counting_queued(int fd, asio::mutable_buffer buffer, int flags) {
    iovec iov{buffer.data(), buffer.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    CountedRecv r{-1, -1};
    do r.n = ::recvmsg(fd, &msg, flags);
    while (r.n < 0 && errno == EINTR);
    if (r.n <= 0) return r;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_TCP && c->cmsg_type == TCP_CM_INQ)
            std::memcpy(&r.queued, CMSG_DATA(c), sizeof r.queued);
    return r;
}

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
        const auto [n, queued] = recv_counting_queued(o->socket_, o->buffer_, 0);
        o->bytes_transferred_ = 0;
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return not_done;  // wait for the reactor
            o->ec_ = boost::system::error_code(errno, asio::error::get_system_category());
            return done;
        }
        if (n == 0) {
            o->ec_ = asio::error::eof;
            return done_and_exhausted;  // as Asio's own receive
        }
        o->bytes_transferred_ = static_cast<std::size_t>(n);
        return queued == 0 ? done_and_exhausted : done;
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

// Whether this kernel reports the bytes left after a read with a FIN counted (TCP_INQ, Linux
// 4.18): tried once per process on a loopback connection (src/proxy/drained_read.cpp).
bool kernel_counts_fin_in_inq();

// A TCP socket whose reads use DrainedRecvOp. Everything else is the plain tcp::socket.
class DrainedReadSocket : public boost::asio::ip::tcp::socket {
  public:
    explicit DrainedReadSocket(boost::asio::ip::tcp::socket socket)
        : boost::asio::ip::tcp::socket(std::move(socket)) {}

    // As async_read_some, for one buffer.
    template <typename Token>
    auto async_read_drained(boost::asio::mutable_buffer buffer, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this, buffer](auto handler) {
                if (buffer.size() > 0 && counts_queued_bytes())
                    start_read(std::move(handler), buffer);
                else
                    async_read_some(buffer, std::move(handler));
            },
            token);
    }

  private:
    // Asks the kernel, once, to report the bytes left after each read (TCP_INQ, Linux 4.18).
    bool counts_queued_bytes() {
        if (inq_ == Inq::unknown) {
            const int on = 1;
            inq_ = kernel_counts_fin_in_inq() &&
                           ::setsockopt(native_handle(), SOL_TCP, TCP_INQ, &on, sizeof on) == 0
                       ? Inq::on
                       : Inq::unavailable;
        }
        return inq_ == Inq::on;
    }

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
    enum class Inq : unsigned char { unknown, on, unavailable } inq_ = Inq::unknown;
};

}  // namespace uniqguard::proxy
