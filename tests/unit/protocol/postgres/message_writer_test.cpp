#include "protocol/postgres/message_writer.hpp"

#include <catch2/catch.hpp>

using namespace uniqguard::protocol::postgres;

namespace {
// A string literal with its embedded NULs, without the terminating one.
template <std::size_t N>
std::string bytes_of(const char (&s)[N]) {
    return std::string(s, N - 1);
}
}  // namespace

TEST_CASE("ErrorResponseHasTheServersFieldLayout", "[message_writer]") {
    const auto bytes = error_response(
        {.severity = "FATAL", .sqlstate = "08P01", .message = "invalid message length"});
    const std::string body = bytes_of("SFATAL\0VFATAL\0C08P01\0Minvalid message length\0\0");
    REQUIRE(body.size() == 46);
    std::string expected = bytes_of("E\0\0\0\x32");  // 4 + 46
    expected += body;
    CHECK(bytes == expected);
}

TEST_CASE("ErrorResponseOmitsEmptyFieldsAndKeepsTheirOrder", "[message_writer]") {
    const auto bytes = error_response({.sqlstate = "23505",
                                       .message = "m",
                                       .detail = "d",
                                       .schema = "public",
                                       .table = "t",
                                       .constraint = "c"});
    const std::string body = bytes_of("SERROR\0VERROR\0C23505\0Mm\0Dd\0spublic\0tt\0nc\0\0");
    REQUIRE(body.size() == 42);
    CHECK(bytes.substr(5) == body);
    CHECK(bytes.substr(0, 5) == bytes_of("E\0\0\0\x2e"));
}

TEST_CASE("ReadyForQueryCarriesTheStatus", "[message_writer]") {
    std::string out;
    append_ready_for_query(out, TransactionStatus::failed);
    CHECK(out == std::string("Z\0\0\0\x05"
                             "E",
                             6));
}

TEST_CASE("LengthIsFilledInAfterTheBody", "[message_writer]") {
    std::string out;
    MessageWriter w(out);
    w.begin('X').finish();
    w.begin('Q').cstring("").finish();
    CHECK(out == std::string("X\0\0\0\x04Q\0\0\0\x05\0", 11));
}
