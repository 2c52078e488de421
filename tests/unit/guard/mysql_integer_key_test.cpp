// MySQL/MariaDB integer keys from literals (guard/mysql_integer_key.hpp). Every expectation here
// is what MariaDB 10.11 stores for the literal (tests/integration/test_mysql_number_keys.py
// checks thousands more against the server).
#include "guard/mysql_integer_key.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <string>

using namespace uniqguard::guard;

namespace {
constexpr MySqlIntegerColumn int_column{4, false};
constexpr MySqlIntegerColumn tinyint_unsigned{1, true};
constexpr MySqlIntegerColumn bigint_unsigned{8, true};

// The stored value the key stands for, or nullopt when the key is left to the server.
std::optional<std::int64_t> value(const MySqlIntegerColumn& column, MySqlLiteral form,
                                  std::string_view text) {
    const auto key = mysql_integer_key(column, form, text);
    if (!key.ok()) {
        CHECK(key.status == NormalizeStatus::cannot_normalize);
        return std::nullopt;
    }
    REQUIRE(key.bytes.size() == 8);
    std::uint64_t word = 0;
    for (unsigned char c : key.bytes) word = (word << 8) | c;
    return static_cast<std::int64_t>(word);
}
}  // namespace

TEST_CASE("Exact numbers round half away from zero", "[mysql][keys]") {
    using L = MySqlLiteral;
    CHECK(value(int_column, L::exact_number, "7") == 7);
    CHECK(value(int_column, L::exact_number, "-7") == -7);
    CHECK(value(int_column, L::exact_number, "007") == 7);
    CHECK(value(int_column, L::exact_number, "7.5") == 8);
    CHECK(value(int_column, L::exact_number, "7.4") == 7);
    CHECK(value(int_column, L::exact_number, "-7.5") == -8);
    CHECK(value(int_column, L::exact_number, "2.5") == 3);
    CHECK(value(int_column, L::exact_number, ".5") == 1);
    CHECK(value(int_column, L::exact_number, "5.") == 5);
    CHECK(value(int_column, L::exact_number, "-0") == 0);
    CHECK(value(int_column, L::exact_number, "2147483647") == 2147483647);
    CHECK_FALSE(value(int_column, L::exact_number, "2147483648"));  // out of range: sql_mode
    CHECK_FALSE(value(int_column, L::exact_number, "1e1"));         // not an exact number
}

TEST_CASE("Approximate numbers round half to even, when a double holds them", "[mysql][keys]") {
    using L = MySqlLiteral;
    CHECK(value(int_column, L::approximate_number, "1e1") == 10);
    CHECK(value(int_column, L::approximate_number, "2.5e0") == 2);
    CHECK(value(int_column, L::approximate_number, "3.5e0") == 4);
    CHECK(value(int_column, L::approximate_number, "-2.5E0") == -2);
    CHECK(value(int_column, L::approximate_number, "0.5e0") == 0);
    CHECK(value(int_column, L::approximate_number, "1.5e0") == 2);
    CHECK_FALSE(value(int_column, L::approximate_number, "0.49999999999999999e0"));
    CHECK_FALSE(value(int_column, L::approximate_number, "1e30"));
}

TEST_CASE("Strings: blanks around, exact decimals, exponents included", "[mysql][keys]") {
    using L = MySqlLiteral;
    CHECK(value(int_column, L::string, "7") == 7);
    CHECK(value(int_column, L::string, " \t\r\n-7 \n") == -7);
    CHECK(value(int_column, L::string, "+7") == 7);
    CHECK(value(int_column, L::string, "2.5e0") == 3);  // unlike the literal 2.5e0
    CHECK(value(int_column, L::string, "1e-1") == 0);
    CHECK(value(int_column, L::string, "1.e1") == 10);
    CHECK(value(int_column, L::string, "0.49999999999999999") == 0);
    for (const char* junk : {"", " ", "7a", "0x10", "- 7", "1e", "1e+", ".e1", "e1",
                             "\xc2\xa0"
                             "7",
                             "9223372036854775808e-19"})
        CHECK_FALSE(value(int_column, L::string, junk));
}

TEST_CASE("0x and b'' numbers, TRUE and FALSE; X'' strings are left to the server",
          "[mysql][keys]") {
    using L = MySqlLiteral;
    CHECK(value(int_column, L::hex_number, "\x10") == 16);
    CHECK(value(int_column, L::bit, "\x05") == 5);
    CHECK_FALSE(
        value(bigint_unsigned, L::bit, std::string("\0\x24\xa0\xff\x76\x32\x55\xa3\x08", 9)));
    CHECK(value(bigint_unsigned, L::hex_number, "\xff\xff\xff\xff\xff\xff\xff\xff") == -1);
    CHECK(value(int_column, L::boolean, "1") == 1);
    CHECK(value(int_column, L::boolean, "0") == 0);
    CHECK_FALSE(value(int_column, L::hex_string, "\x10"));
}

TEST_CASE("UNSIGNED columns: their range, and no negative number", "[mysql][keys]") {
    using L = MySqlLiteral;
    CHECK(value(tinyint_unsigned, L::exact_number, "255") == 255);
    CHECK_FALSE(value(tinyint_unsigned, L::exact_number, "256"));
    CHECK_FALSE(value(tinyint_unsigned, L::exact_number, "-0.3"));  // rounds to 0, still refused
    CHECK_FALSE(value(tinyint_unsigned, L::string, "-1"));
    // Signed and unsigned keys of one column always share their form: 2^64 - 1 is all ones.
    CHECK(value(bigint_unsigned, L::exact_number, "18446744073709551615") == -1);
    CHECK_FALSE(value(bigint_unsigned, L::exact_number, "18446744073709551616"));
}
