// The key of a MySQL/MariaDB DECIMAL(p, s) column from a literal of an INSERT, as the server
// stores it (MariaDB 10.11, measured: tests/integration/test_mysql_number_keys.py). Every form
// is rounded half away from zero to s decimals (`1.005` → 1.01, `-1.005` → -1.01), an
// approximate number included (the server turns the double back into its shortest decimal
// digits first: `2.345e0` → 2.35), when a double holds it exactly enough (15 significant
// digits); strings are read as for integer columns (mysql_integer_key.hpp), as are 0x/b''
// numbers and TRUE/FALSE. Out of range (more than p - s integer digits once rounded), negative
// into UNSIGNED, junk and X'' strings are left to the server (sql_mode decides). Canonical
// bytes: '+' or '-' (zero is '+'), then the digits of the value × 10^s without leading zeros.
#pragma once

#include <cstdint>
#include <string_view>

#include "guard/key_normalizer.hpp"
#include "guard/mysql_integer_key.hpp"

namespace uniqguard::guard {

struct MySqlDecimalColumn {
    std::uint8_t precision = 10;  // 1..65
    std::uint8_t scale = 0;       // 0..38, ≤ precision
    bool is_unsigned = false;
};

NormalizedValue mysql_decimal_key(const MySqlDecimalColumn& column, MySqlLiteral literal,
                                  std::string_view text);

}  // namespace uniqguard::guard
