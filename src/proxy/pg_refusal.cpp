#include "proxy/pg_refusal.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "protocol/postgres/frame_reader.hpp"
#include "protocol/postgres/message_codes.hpp"
#include "protocol/postgres/message_writer.hpp"
#include "util/byte_buffer.hpp"

namespace uniqguard::proxy {

using namespace asio::experimental::awaitable_operators;
namespace pg = protocol::postgres;

namespace {
// Reads startup packets until the StartupMessage (or anything unexpected); the references stay
// valid because the caller awaits this to completion.
asio::awaitable<void> wait_for_startup_message(tcp::socket& socket) {
    util::ByteBuffer buffer;
    for (int packets = 0; packets < 3; ++packets) {
        pg::FrameResult r;
        for (;;) {
            r = pg::read_startup_frame(buffer.readable());
            if (r.status != pg::FrameStatus::need_more) break;
            auto space = buffer.writable(r.needed - buffer.size());
            auto [ec, n] = co_await socket.async_read_some(asio::buffer(space.data(), space.size()),
                                                           use_tuple);
            if (ec) co_return;
            buffer.commit(n);
        }
        if (r.status == pg::FrameStatus::error) co_return;
        const auto code = r.frame.code;
        buffer.consume(r.frame.wire_size);
        if (code != pg::startup_code::ssl_request && code != pg::startup_code::gssenc_request)
            co_return;
        co_await asio::async_write(socket, asio::buffer("N", 1), use_tuple);
    }
}
}  // namespace

asio::awaitable<void> refuse_postgres_client(tcp::socket socket, std::string sqlstate,
                                             std::string message) {
    asio::steady_timer deadline(socket.get_executor(), std::chrono::seconds(5));
    co_await (wait_for_startup_message(socket) || deadline.async_wait(use_tuple));
    const std::string error =
        pg::error_response({.severity = "FATAL", .sqlstate = sqlstate, .message = message});
    co_await asio::async_write(socket, asio::buffer(error), use_tuple);
    error_code ignored;
    socket.close(ignored);
}

}  // namespace uniqguard::proxy
