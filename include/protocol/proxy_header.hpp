// The PROXY protocol header (HAProxy's, version 1: one text line) that tells a server which
// client a proxied connection is for. MariaDB reads it from the networks listed in
// proxy_protocol_networks, so accounts bound to a client host work through the proxy.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace uniqguard::protocol {

// "PROXY TCP4 <source> <destination> <source port> <destination port>\r\n" (TCP6 for IPv6):
// source is the client, destination the address the client connected to.
std::string proxy_v1_header(bool ipv6, std::string_view source_address,
                            std::string_view destination_address, std::uint16_t source_port,
                            std::uint16_t destination_port);

}  // namespace uniqguard::protocol
