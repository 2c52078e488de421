// One TCP connection of a session, plaintext or TLS. PostgreSQL and MySQL both start TLS in the
// middle of their handshake, so a Stream begins plaintext and may be upgraded once.
//
// The read/write members return Asio awaitables directly (no coroutine of their own), so the
// hot path adds no coroutine frame per operation. Errors are values (as_tuple), never exceptions.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <memory>
#include <string>

#include "proxy/drained_read.hpp"
#include "util/bytes.hpp"

namespace uniqguard::proxy {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

inline asio::const_buffer to_buffer(util::Bytes bytes) { return {bytes.data(), bytes.size()}; }

class Stream {
  public:
    explicit Stream(tcp::socket socket) : socket_(std::move(socket)) {}
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;

    tcp::socket& socket() { return socket_; }
    bool is_tls() const { return tls_ != nullptr; }
    SSL* native_ssl() { return tls_ ? tls_->native_handle() : nullptr; }

    // Upgrades to TLS, as the server side (toward a client) or the client side (toward the
    // database). `verify_host`, when not empty, enables certificate and host name checks.
    asio::awaitable<error_code> handshake_as_server(ssl::context& ctx);
    asio::awaitable<error_code> handshake_as_client(ssl::context& ctx,
                                                    const std::string& verify_host);

    template <typename Token>
    auto async_read_some(asio::mutable_buffer buffer, Token&& token) {
        if (tls_) return tls_->async_read_some(buffer, std::forward<Token>(token));
        return socket_.async_read_drained(buffer, std::forward<Token>(token));
    }

    template <typename Buffers, typename Token>
    auto async_write(const Buffers& buffers, Token&& token) {
        if (tls_) return asio::async_write(*tls_, buffers, std::forward<Token>(token));
        return asio::async_write(socket_, buffers, std::forward<Token>(token));
    }

    // Reads exactly buffer.size() bytes.
    template <typename Token>
    auto async_read_exactly(asio::mutable_buffer buffer, Token&& token) {
        if (tls_) return asio::async_read(*tls_, buffer, std::forward<Token>(token));
        return asio::async_read(socket_, buffer, std::forward<Token>(token));
    }

    // Plaintext fast path: try the read or write now, as a non-blocking system call, instead of
    // through the scheduler (an asynchronous operation that could complete at once still posts
    // its completion, one more queue round trip per message). Returns the bytes done; `ec` is
    // would_block when nothing could be done now, and always for TLS streams, so the caller
    // falls back to the asynchronous operation.
    std::size_t read_now(asio::mutable_buffer buffer, error_code& ec);
    template <typename Buffers>
    std::size_t write_now(const Buffers& buffers, error_code& ec) {
        if (tls_ || !make_non_blocking(ec)) {
            if (!ec) ec = asio::error::would_block;
            return 0;
        }
        return socket_.write_some(buffers, ec);
    }

    void close();

  private:
    bool make_non_blocking(error_code& ec);

    // Plaintext reads skip the recv that would fail (proxy/drained_read.hpp says why).
    DrainedReadSocket socket_;
    // On the heap: most sessions are plaintext, and an idle session should cost little.
    std::unique_ptr<ssl::stream<tcp::socket&>> tls_;
};

}  // namespace uniqguard::proxy
