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
        return socket_.async_read_some(buffer, std::forward<Token>(token));
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

    // Waits until a read would not block, without taking a buffer. TLS streams may hold
    // decrypted bytes the socket does not show, so for them this completes at once and the
    // caller reads (with its buffer) instead.
    template <typename Token>
    auto async_wait_readable(Token&& token) {
        return socket_.async_wait(tcp::socket::wait_read, std::forward<Token>(token));
    }

    void close();

private:
    tcp::socket socket_;
    // On the heap: most sessions are plaintext, and an idle session should cost little.
    std::unique_ptr<ssl::stream<tcp::socket&>> tls_;
};

}  // namespace uniqguard::proxy
