#include "protocol/proxy_header.hpp"

#include <catch2/catch.hpp>

using uniqguard::protocol::proxy_v1_header;
using uniqguard::protocol::proxy_v2_header;

TEST_CASE("ProxyHeaderV1NamesTheClientThenTheAddressItReached", "[proxy_header]") {
    CHECK(proxy_v1_header(false, "192.0.2.7", "127.0.0.1", 51234, 3307) ==
          "PROXY TCP4 192.0.2.7 127.0.0.1 51234 3307\r\n");
    CHECK(proxy_v1_header(true, "2001:db8::7", "::1", 1, 65535) ==
          "PROXY TCP6 2001:db8::7 ::1 1 65535\r\n");
}

TEST_CASE("ProxyHeaderV2IsTheSignatureThenTheBinaryAddressBlock", "[proxy_header]") {
    const std::uint8_t source[] = {192, 0, 2, 7};
    const std::uint8_t destination[] = {127, 0, 0, 1};
    using namespace std::string_literals;
    CHECK(proxy_v2_header(source, destination, 51234, 3307) ==
          "\r\n\r\n\0\r\nQUIT\n"s + "\x21\x11\x00\x0c"s + "\xc0\x00\x02\x07\x7f\x00\x00\x01"s +
              "\xc8\x22\x0c\xeb"s);
    std::uint8_t six[16] = {0x20, 0x01, 0x0d, 0xb8};
    six[15] = 7;
    std::uint8_t loopback[16] = {};
    loopback[15] = 1;
    const std::string v6 = proxy_v2_header(six, loopback, 1, 65535);
    REQUIRE(v6.size() == 16 + 36);
    CHECK(v6.substr(12, 4) == "\x21\x21\x00\x24"s);
    CHECK(v6.substr(16, 16) == std::string(reinterpret_cast<const char*>(six), 16));
    CHECK(v6.substr(32, 16) == std::string(reinterpret_cast<const char*>(loopback), 16));
    CHECK(v6.substr(48) == "\x00\x01\xff\xff"s);
}
