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

}  // namespace uniqguard::protocol
