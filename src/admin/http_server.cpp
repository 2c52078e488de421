#include "admin/http_server.hpp"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "util/gcc12_coroutine_frames.hpp"

namespace uniqguard::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

Reply plain(unsigned status, std::string body) {
    return Reply{.status = status, .body = std::move(body)};
}

asio::awaitable<void> write_reply(beast::tcp_stream& stream, const HttpOptions& options,
                                  const Reply& reply, bool head_only) {
    http::response<http::string_body> res{static_cast<http::status>(reply.status), 11};
    res.set(http::field::server, "uniqguard");
    res.set(http::field::content_type, reply.content_type);
    res.set(http::field::connection, "close");
    if (reply.status == 401) res.set(http::field::www_authenticate, "Bearer");
    res.body() = reply.body;
    res.prepare_payload();
    if (head_only) res.body().clear();
    stream.expires_after(options.io_timeout);
    auto [ec, n] = co_await http::async_write(stream, res, use_tuple);
    (void)n;
    if (!ec) stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> handle_connection(tcp::socket socket, const HttpOptions& options,
                                        Handler handler) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer(options.max_request_bytes);
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.max_request_bytes));
    parser.body_limit(0);  // GET carries no body
    stream.expires_after(options.io_timeout);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
    (void)n;
    if (ec == beast::error::timeout || ec == http::error::end_of_stream) co_return;
    if (ec) {
        const unsigned status = ec == http::error::header_limit || ec == http::error::body_limit ||
                                        ec == http::error::buffer_overflow
                                    ? 431
                                    : 400;
        const Reply bad = plain(status, "bad request: " + ec.message() + "\n");
        co_await write_reply(stream, options, bad, false);
        co_return;
    }
    const auto& req = parser.get();
    const bool head = req.method() == http::verb::head;
    if (req.method() != http::verb::get && !head) {
        const Reply bad = plain(405, "only GET and HEAD\n");
        co_await write_reply(stream, options, bad, false);
        co_return;
    }
    const auto target = req.target();
    std::string path(path_of(std::string_view(target.data(), target.size())));
    const auto authorization = req[http::field::authorization];
    if (options.token && path != "/healthz" &&
        !bearer_token_matches(std::string_view(authorization.data(), authorization.size()),
                              *options.token)) {
        const Reply denied = plain(401, "a bearer token is required (admin.token)\n");
        co_await write_reply(stream, options, denied, head);
        co_return;
    }
    const Reply reply = co_await handler(std::move(path));
    co_await write_reply(stream, options, reply, head);
}

}  // namespace

bool bearer_token_matches(std::string_view authorization, std::string_view token) {
    constexpr std::string_view scheme = "Bearer ";
    if (authorization.size() < scheme.size()) return false;
    // The scheme is case-insensitive (RFC 9110 §11.1); the token is not.
    for (std::size_t i = 0; i < scheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
            std::tolower(static_cast<unsigned char>(scheme[i])))
            return false;
    const auto given = authorization.substr(scheme.size());
    if (given.size() != token.size()) return false;
    return CRYPTO_memcmp(given.data(), token.data(), token.size()) == 0;
}

asio::awaitable<void> serve_http(tcp::acceptor& acceptor, const HttpOptions& options,
                                 Handler handler, asio::steady_timer& stop) {
    auto executor = co_await asio::this_coro::executor;
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        if (ec) {
            spdlog::warn("admin: accept failed: {}", ec.message());
            asio::steady_timer backoff(executor, std::chrono::milliseconds(100));
            co_await backoff.async_wait(use_tuple);
            continue;
        }
        asio::co_spawn(
            executor,
            handle_connection(std::move(socket), options, handler) || stop.async_wait(use_tuple),
            [](std::exception_ptr e, auto) {
                if (!e) return;
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& ex) {
                    spdlog::error("admin request: {}", ex.what());
                }
            });
    }
}

}  // namespace uniqguard::admin
