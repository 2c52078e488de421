// The admin endpoint's HTTP side (Boost.Beast): accepts on its own acceptor, reads one GET per
// connection within bounds, checks the bearer token, asks a handler for the page and closes.
// It runs on the main io_context, never on a worker's: a scrape costs the sessions nothing but
// the counters' relaxed loads.
#pragma once

#include <boost/asio.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace uniqguard::admin {

struct Reply {
    unsigned status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
};

// Given the request's path (without the query string); the handler bounds its own waits.
using Handler = std::function<boost::asio::awaitable<Reply>(std::string path)>;

struct HttpOptions {
    std::optional<std::string> token;  // admin.token: required on every path but /healthz
    // A request is a line and a few headers; anything bigger is not a scraper.
    std::size_t max_request_bytes = 8 * 1024;
    // For reading the request, and again for writing the reply.
    std::chrono::milliseconds io_timeout{5000};
};

// Whether an Authorization header value carries `token` as a bearer token (compared in constant
// time, so the comparison does not tell how much of a guess was right).
bool bearer_token_matches(std::string_view authorization, std::string_view token);

// Serves until the acceptor is closed or `stop` is cancelled (shutdown); every connection's
// coroutine is raced with `stop` too, so none holds the main context open.
boost::asio::awaitable<void> serve_http(boost::asio::ip::tcp::acceptor& acceptor,
                                        const HttpOptions& options, Handler handler,
                                        boost::asio::steady_timer& stop);

}  // namespace uniqguard::admin
