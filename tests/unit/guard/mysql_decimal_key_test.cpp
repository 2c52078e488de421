// MySQL/MariaDB DECIMAL(p, s) keys from literals (guard/mysql_decimal_key.hpp). Every expectation
// is what MariaDB 10.11 stores (tests/integration/test_mysql_number_keys.py checks thousands more
// against the server).
#include "guard/mysql_decimal_key.hpp"

#include <catch2/catch.hpp>
#include <optional>
#include <string>

using namespace uniqguard::guard;

namespace {
constexpr MySqlDecimalColumn money{6, 2, false};
constexpr MySqlDecimalColumn money_unsigned{6, 2, true};

std::optional<std::string> key(const MySqlDecimalColumn& column, MySqlLiteral form,
                               std::string_view text) {
    auto k = mysql_decimal_key(column, form, text);
    if (!k.ok()) {
        CHECK(k.status == NormalizeStatus::cannot_normalize);
        return std::nullopt;
    }
    return k.bytes;
}
}  // namespace

TEST_CASE("DECIMAL keys round half away from zero to the scale", "[mysql][keys]") {
    using L = MySqlLiteral;
    CHECK(key(money, L::exact_number, "1.005") == "+101");
    CHECK(key(money, L::exact_number, "-1.005") == "-101");
    CHECK(key(money, L::exact_number, "1.01") == key(money, L::exact_number, "1.0100"));
    CHECK(key(money, L::exact_number, "-0.001") == "+");  // -0.00 is 0.00
    CHECK(key(money, L::exact_number, "0") == "+");
    CHECK(key(money, L::approximate_number, "2.345e0") == "+235");
    CHECK(key(money, L::approximate_number, "0.125e1") == "+125");
    CHECK(key(money, L::string, " 1.5 ") == "+150");
    CHECK(key(money, L::string, "1e-3") == "+");
    CHECK(key(money, L::hex_number, "\x10") == "+1600");
    CHECK(key(money, L::boolean, "1") == "+100");
    CHECK(key(money, L::exact_number, "9999.994") == "+999999");
}

TEST_CASE("DECIMAL values the server decides on", "[mysql][keys]") {
    using L = MySqlLiteral;
    CHECK_FALSE(key(money, L::exact_number, "9999.995"));  // rounds past DECIMAL(6,2)
    CHECK_FALSE(key(money, L::approximate_number, "1.5e308"));
    CHECK_FALSE(key(money, L::approximate_number, "1.0000000000000001e0"));  // 17 digits
    CHECK_FALSE(key(money_unsigned, L::exact_number, "-0.001"));
    CHECK_FALSE(key(money, L::string, "1.5x"));
    CHECK_FALSE(key(money, L::hex_string, "\x10"));
    CHECK(key(money_unsigned, L::exact_number, "0.001") == "+");
}
