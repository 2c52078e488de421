#include "proxy/stream.hpp"

namespace uniqguard::proxy {

asio::awaitable<error_code> Stream::handshake_as_server(ssl::context& ctx) {
    tls_ = std::make_unique<ssl::stream<tcp::socket&>>(socket_, ctx);
    auto [ec] = co_await tls_->async_handshake(ssl::stream_base::server, use_tuple);
    co_return ec;
}

asio::awaitable<error_code> Stream::handshake_as_client(ssl::context& ctx,
                                                        const std::string& verify_host) {
    tls_ = std::make_unique<ssl::stream<tcp::socket&>>(socket_, ctx);
    if (!verify_host.empty()) {
        tls_->set_verify_mode(ssl::verify_peer);
        tls_->set_verify_callback(ssl::host_name_verification(verify_host));
        // SNI, as libpq sends it since PostgreSQL 14; never for an address (RFC 6066).
        error_code not_an_address;
        asio::ip::make_address(verify_host, not_an_address);
        if (not_an_address) SSL_set_tlsext_host_name(tls_->native_handle(), verify_host.c_str());
    }
    auto [ec] = co_await tls_->async_handshake(ssl::stream_base::client, use_tuple);
    co_return ec;
}

bool Stream::make_non_blocking(error_code& ec) {
    if (!socket_.non_blocking()) socket_.non_blocking(true, ec);
    return !ec;
}

std::size_t Stream::read_now(asio::mutable_buffer buffer, error_code& ec) {
    if (tls_ || !make_non_blocking(ec)) {
        if (!ec) ec = asio::error::would_block;
        return 0;
    }
    return socket_.read_some(buffer, ec);
}

void Stream::close() {
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
}

}  // namespace uniqguard::proxy
