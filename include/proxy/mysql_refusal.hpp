// Turns a MySQL client away before any server connection exists (over listen.max_clients): the
// ERR packet goes in place of the server's handshake, as a server past max_connections does.
#pragma once

#include "protocol/mysql/packet_writer.hpp"
#include "proxy/stream.hpp"

namespace uniqguard::proxy {

asio::awaitable<void> refuse_mysql_client(tcp::socket socket, protocol::mysql::ServerError error);

}  // namespace uniqguard::proxy
