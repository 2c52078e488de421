#include "proxy/mysql_refusal.hpp"

namespace uniqguard::proxy {

asio::awaitable<void> refuse_mysql_client(tcp::socket socket, protocol::mysql::ServerError error) {
    std::string wire;
    protocol::mysql::append_packet(wire, 0, util::as_bytes(protocol::mysql::err_payload(error)));
    co_await asio::async_write(socket, asio::buffer(wire), use_tuple);
    error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    socket.close(ignored);
}

}  // namespace uniqguard::proxy
