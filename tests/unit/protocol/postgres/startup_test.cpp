#include "protocol/postgres/startup.hpp"

#include <catch2/catch.hpp>

using namespace uniqguard::protocol::postgres;
using uniqguard::util::as_bytes;

TEST_CASE("StartupParametersAreDecodedInOrder", "[startup]") {
    const char raw[] = "user\0alice\0database\0app\0application_name\0psql\0\0";
    const std::string body(raw, sizeof raw - 1);
    auto params = decode_startup_parameters(as_bytes(body));
    REQUIRE(params);
    REQUIRE(params->items.size() == 3);
    CHECK(params->get("user") == "alice");
    CHECK(params->get("database") == "app");
    CHECK(params->get("application_name") == "psql");
    CHECK(params->get("options").empty());
}

TEST_CASE("StartupParametersWithoutTerminatorAreRefused", "[startup]") {
    CHECK_FALSE(decode_startup_parameters(as_bytes(std::string("user\0alice\0", 11))));
    CHECK_FALSE(decode_startup_parameters(as_bytes(std::string("user\0alice", 10))));
    CHECK_FALSE(decode_startup_parameters(as_bytes(std::string("user\0alice\0\0x", 13))));
    CHECK(decode_startup_parameters(as_bytes(std::string("\0", 1)))->items.empty());
}

TEST_CASE("CancelRequestRoundTrips", "[startup]") {
    const CancelKey key{0x01020304, 0xa0b0c0d0};
    const auto wire = encode_cancel_request(key);
    CHECK(wire == std::string("\0\0\0\x10\x04\xd2\x16\x2e\x01\x02\x03\x04\xa0\xb0\xc0\xd0", 16));
    auto decoded = decode_cancel_key(as_bytes(wire).subspan(8));
    REQUIRE(decoded);
    CHECK(*decoded == key);
    CHECK_FALSE(decode_cancel_key(as_bytes(wire).subspan(9)));
}
