#include "protocol/proxy_header.hpp"

#include <catch2/catch.hpp>

using uniqguard::protocol::proxy_v1_header;

TEST_CASE("ProxyHeaderV1NamesTheClientThenTheAddressItReached", "[proxy_header]") {
    CHECK(proxy_v1_header(false, "192.0.2.7", "127.0.0.1", 51234, 3307) ==
          "PROXY TCP4 192.0.2.7 127.0.0.1 51234 3307\r\n");
    CHECK(proxy_v1_header(true, "2001:db8::7", "::1", 1, 65535) ==
          "PROXY TCP6 2001:db8::7 ::1 1 65535\r\n");
}
