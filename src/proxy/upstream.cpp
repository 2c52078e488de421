#include "proxy/upstream.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "protocol/postgres/startup.hpp"

namespace uniqguard::proxy {

using namespace asio::experimental::awaitable_operators;

namespace {

// The references stay valid: the caller awaits this to completion.
asio::awaitable<error_code> resolve_and_connect(tcp::socket& socket,
                                                const config::Endpoint& address) {
    tcp::resolver resolver(socket.get_executor());
    auto [rec, endpoints] =
        co_await resolver.async_resolve(address.host, std::to_string(address.port), use_tuple);
    if (rec) co_return rec;
    auto [cec, ep] = co_await asio::async_connect(socket, endpoints, use_tuple);
    co_return cec;
}

}  // namespace

asio::awaitable<std::string> connect_tcp_with_deadline(tcp::socket& socket,
                                                       const config::Endpoint& address) {
    asio::steady_timer deadline(socket.get_executor(), upstream_connect_timeout);
    auto outcome =
        co_await (resolve_and_connect(socket, address) || deadline.async_wait(use_tuple));
    if (outcome.index() == 1)
        co_return "timed out after " + std::to_string(upstream_connect_timeout.count()) + " s";
    const error_code ec = std::get<0>(outcome);
    if (ec) co_return ec.message();
    socket.set_option(tcp::no_delay(true));
    co_return std::string{};
}

asio::awaitable<UpstreamConnection> connect_postgres_upstream(const config::Backend& backend,
                                                              ssl::context& tls_context) {
    auto executor = co_await asio::this_coro::executor;
    UpstreamConnection result;
    auto stream = std::make_unique<Stream>(tcp::socket(executor));
    const std::string where = backend.address.to_string();

    if (auto err = co_await connect_tcp_with_deadline(stream->socket(), backend.address);
        !err.empty()) {
        result.error = "could not connect to the database server at " + where + ": " + err;
        co_return result;
    }
    if (backend.tls == config::BackendTls::disable) {
        result.stream = std::move(stream);
        co_return result;
    }

    const std::string request = protocol::postgres::encode_ssl_request();
    auto [wec, wn] = co_await stream->async_write(asio::buffer(request), use_tuple);
    char answer = 0;
    error_code rec;
    if (!wec)
        std::tie(rec, std::ignore) =
            co_await stream->async_read_exactly(asio::buffer(&answer, 1), use_tuple);
    if (wec || rec) {
        result.error =
            "connection to the database server at " + where + " was lost during SSL negotiation";
        co_return result;
    }
    if (answer == 'S') {
        const std::string verify_host =
            backend.tls == config::BackendTls::verify_full ? backend.address.host : std::string{};
        if (auto ec = co_await stream->handshake_as_client(tls_context, verify_host)) {
            result.error =
                "SSL handshake with the database server at " + where + " failed: " + ec.message();
            co_return result;
        }
    } else if (answer == 'N') {
        if (backend.tls != config::BackendTls::prefer) {
            result.error = "the database server at " + where +
                           " does not support SSL, but backend.tls requires it";
            co_return result;
        }
    } else {
        result.error =
            "the database server at " + where + " answered the SSL request with an unexpected byte";
        co_return result;
    }
    result.stream = std::move(stream);
    co_return result;
}

}  // namespace uniqguard::proxy
