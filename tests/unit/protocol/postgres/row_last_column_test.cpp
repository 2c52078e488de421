#include "protocol/postgres/row_last_column.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace uniqguard;
using namespace uniqguard::protocol::postgres;

namespace {
std::string field(const std::string& name, char type_low) {
    std::string f = name;
    f.push_back('\0');
    f += std::string("\0\0\0\0\0\0\0\0\0", 6);            // table oid, attnum
    f += std::string("\0\0\0", 3) + type_low;             // type oid
    f += std::string("\xff\xff\xff\xff\xff\xff\0\0", 8);  // typlen, typmod, format
    return f;
}
util::Bytes bytes(const std::string& s) { return util::as_bytes(s); }
}  // namespace

TEST_CASE("a RowDescription loses its last field", "[row_last_column]") {
    const std::string body =
        std::string("\0\x02", 2) + field("note", 25) + field("uniqguard_row", 20);
    auto out = row_description_without_last(bytes(body));
    REQUIRE(out);
    const std::string expected_body = std::string("\0\x01", 2) + field("note", 25);
    std::string expected = "T";
    expected += std::string("\0\0\0", 3) + static_cast<char>(4 + expected_body.size());
    expected += expected_body;
    CHECK(*out == expected);
    CHECK_FALSE(row_description_without_last(bytes(std::string("\0\0", 2))));
    CHECK_FALSE(row_description_without_last(bytes(body.substr(0, body.size() - 1))));
    // Both fields: none left; more than there are: an error.
    auto none = row_description_without_last(bytes(body), 2);
    REQUIRE(none);
    CHECK(*none == std::string("T\0\0\0\x06\0\0", 7));
    CHECK_FALSE(row_description_without_last(bytes(body), 3));
}

TEST_CASE("a DataRow loses its last value, NULLs included", "[row_last_column]") {
    // 3 values: 'ab', NULL, '7'
    const std::string body = std::string("\0\x03", 2) + std::string("\0\0\0\x02", 4) + "ab" +
                             std::string("\xff\xff\xff\xff", 4) + std::string("\0\0\0\x01", 4) +
                             "7";
    auto out = data_row_without_last(bytes(body));
    REQUIRE(out);
    const std::string expected_body = std::string("\0\x02", 2) + std::string("\0\0\0\x02", 4) +
                                      "ab" + std::string("\xff\xff\xff\xff", 4);
    std::string expected = "D";
    expected += std::string("\0\0\0", 3) + static_cast<char>(4 + expected_body.size());
    expected += expected_body;
    CHECK(*out == expected);
    CHECK_FALSE(data_row_without_last(bytes(body + "x")));
    // The last two values (NULL and '7'): 'ab' left.
    auto one = data_row_without_last(bytes(body), 2);
    REQUIRE(one);
    CHECK(*one == std::string("D\0\0\0\x0c\0\x01\0\0\0\x02"
                              "ab",
                              13));
    CHECK_FALSE(
        data_row_without_last(bytes(std::string("\0\x01\0\0\0\x05"
                                                "ab",
                                                8))));
}
