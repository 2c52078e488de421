// COM_STMT_EXECUTE's parameters (protocol/mysql/stmt_execute.hpp): exact payload bytes in,
// exact parameters out.
#include "protocol/mysql/stmt_execute.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace uniqguard::protocol::mysql;
using uniqguard::util::as_bytes;
using uniqguard::util::as_chars;

namespace {
// 0x17, statement 7, no cursor, iteration count 1.
std::string head() { return std::string("\x17\x07\x00\x00\x00\x00\x01\x00\x00\x00", 10); }
}  // namespace

TEST_CASE("Parameters with types bound: integers, NULL and a string", "[mysql][execute]") {
    // 3 parameters; the second is NULL (bitmap 0b010); types LONGLONG UNSIGNED, LONG, VAR_STRING.
    std::string p = head() + std::string("\x02\x01", 2) +
                    std::string("\x08\x80\x03\x00\xfd\x00", 6) +
                    std::string("\x2a\x00\x00\x00\x00\x00\x00\x00", 8) +
                    std::string(
                        "\x03"
                        "abc");
    std::string error;
    const auto e = decode_stmt_execute(as_bytes(p), 3, {}, {}, error);
    REQUIRE(e);
    CHECK(e->statement_id == 7);
    CHECK(e->new_params_bound);
    REQUIRE(e->params.size() == 3);
    CHECK(e->params[0].type == ParamType{field_type::longlong, true});
    CHECK(as_chars(e->params[0].value) == std::string("\x2a\0\0\0\0\0\0\0", 8));
    CHECK(e->params[1].is_null);
    CHECK(e->params[1].value.empty());
    CHECK(e->params[2].type == ParamType{field_type::var_string, false});
    CHECK(as_chars(e->params[2].value) == "abc");
}

TEST_CASE("Types from the previous execute; long data is not in the payload", "[mysql][execute]") {
    const std::vector<ParamType> previous = {{field_type::blob, false}, {field_type::tiny, false}};
    const std::vector<bool> long_data = {true, false};
    std::string p = head() + std::string("\x00\x00", 2) + std::string("\x05", 1);
    std::string error;
    const auto e = decode_stmt_execute(as_bytes(p), 2, previous, long_data, error);
    REQUIRE(e);
    CHECK_FALSE(e->new_params_bound);
    CHECK(e->params[0].long_data);
    CHECK(e->params[0].type.type == field_type::blob);
    CHECK(as_chars(e->params[1].value) == "\x05");
}

TEST_CASE("No parameters: nothing after the iteration count", "[mysql][execute]") {
    std::string error;
    const auto e = decode_stmt_execute(as_bytes(head()), 0, {}, {}, error);
    REQUIRE(e);
    CHECK(e->params.empty());
}

TEST_CASE("Payloads the server refuses are refused with a reason", "[mysql][execute]") {
    std::string error;
    // Truncated in the values: a LONGLONG with 4 bytes.
    std::string p = head() + std::string("\x00\x01\x08\x00\x01\x02\x03\x04", 8);
    CHECK_FALSE(decode_stmt_execute(as_bytes(p), 1, {}, {}, error));
    CHECK(error == "COM_STMT_EXECUTE is truncated in its parameter values");
    // No types bound, none before.
    p = head() + std::string("\x00\x00", 2);
    CHECK_FALSE(decode_stmt_execute(as_bytes(p), 1, {}, {}, error));
    CHECK(error == "COM_STMT_EXECUTE binds no parameter types and none were bound before");
    // An unknown type.
    p = head() + std::string("\x00\x01\x64\x00", 4);
    CHECK_FALSE(decode_stmt_execute(as_bytes(p), 1, {}, {}, error));
    CHECK(error == "COM_STMT_EXECUTE has a parameter of unknown type 100");
    // Another command.
    CHECK_FALSE(decode_stmt_execute(as_bytes(std::string("\x03SELECT 1")), 0, {}, {}, error));
    CHECK(error == "not a COM_STMT_EXECUTE");
    // A string's length past the end.
    p = head() + std::string(
                     "\x00\x01\xfd\x00\x09"
                     "abc",
                     8);
    CHECK_FALSE(decode_stmt_execute(as_bytes(p), 1, {}, {}, error));
}
