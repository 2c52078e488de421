#include "protocol/proxy_header.hpp"

namespace uniqguard::protocol {

std::string proxy_v1_header(bool ipv6, std::string_view source_address,
                            std::string_view destination_address, std::uint16_t source_port,
                            std::uint16_t destination_port) {
    std::string line = ipv6 ? "PROXY TCP6 " : "PROXY TCP4 ";
    line += source_address;
    line += ' ';
    line += destination_address;
    line += ' ';
    line += std::to_string(source_port);
    line += ' ';
    line += std::to_string(destination_port);
    line += "\r\n";
    return line;
}

std::string proxy_v2_header(std::span<const std::uint8_t> source,
                            std::span<const std::uint8_t> destination, std::uint16_t source_port,
                            std::uint16_t destination_port) {
    static constexpr char signature[] = "\r\n\r\n\0\r\nQUIT\n";
    const bool ipv6 = source.size() == 16;
    std::string out(signature, sizeof signature - 1);
    out += '\x21';                  // version 2, command PROXY
    out += ipv6 ? '\x21' : '\x11';  // AF_INET6 or AF_INET, over STREAM
    const std::uint16_t length = static_cast<std::uint16_t>(2 * source.size() + 4);
    auto put16 = [&](std::uint16_t v) {
        out += static_cast<char>(v >> 8);
        out += static_cast<char>(v & 0xff);
    };
    put16(length);
    for (auto b : source) out += static_cast<char>(b);
    for (auto b : destination) out += static_cast<char>(b);
    put16(source_port);
    put16(destination_port);
    return out;
}

}  // namespace uniqguard::protocol
