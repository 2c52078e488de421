// The PROXY protocol header (HAProxy's: version 1, one text line; version 2, binary) that tells
// a server which client a proxied connection is for. MariaDB reads it from the networks listed in
// proxy_protocol_networks, so accounts bound to a client host work through the proxy.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace uniqguard::protocol {

// "PROXY TCP4 <source> <destination> <source port> <destination port>\r\n" (TCP6 for IPv6):
// source is the client, destination the address the client connected to.
std::string proxy_v1_header(bool ipv6, std::string_view source_address,
                            std::string_view destination_address, std::uint16_t source_port,
                            std::uint16_t destination_port);

// Version 2: the 12-byte signature, version 2 with the PROXY command, TCP over IPv4 or IPv6, the
// address block's length, then source and destination addresses and ports in network order.
// `source` and `destination` are 4 bytes each (IPv4) or 16 (IPv6), of one family.
std::string proxy_v2_header(std::span<const std::uint8_t> source,
                            std::span<const std::uint8_t> destination, std::uint16_t source_port,
                            std::uint16_t destination_port);

}  // namespace uniqguard::protocol
