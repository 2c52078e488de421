// Reading MySQL/MariaDB numbers as the server reads them when it stores a literal into a numeric
// column: the decimal text of a literal or a string, rounded to a number of decimals (0 for
// integer columns). Shared by mysql_integer_key and mysql_decimal_key; internal to guard/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace uniqguard::guard::mysql_number {

// ±digits × 10^exponent, digits without leading zeros ("" for zero).
struct Decimal {
    bool negative = false;
    std::string digits;
    std::int64_t exponent = 0;
};

// [+-]? (digits [. digits*] | . digits) ([eE] [+-]? digits)?, the whole of `s`.
std::optional<Decimal> read(std::string_view s, bool allow_exponent);

// A string's number: spaces, tabs, CR and LF around it skipped (what MariaDB skips).
std::optional<Decimal> read_string(std::string_view s);

enum class Rounding { half_away_from_zero, half_to_even };

// |d| rounded to `decimals` places, as the digits of the scaled integer (|d| × 10^decimals)
// without leading zeros ("" for 0); nullopt past `max_digits`.
std::optional<std::string> round_scaled(const Decimal& d, int decimals, Rounding rounding,
                                        std::size_t max_digits);

// Whether a DOUBLE literal's value is known exactly enough: at most 15 significant digits and
// below 10^15 in magnitude (a double holds it to far better than the next rounding half, and
// MariaDB turns it back into exactly those digits).
bool double_is_exact_enough(const Decimal& d);

// Whether the server reads a string's mantissa exactly: at most 18 digits (with more, MariaDB
// 10.11's reading into an integer overflows: '9223372036854775808e-19' is stored as 0).
bool string_is_exact_enough(const Decimal& d);

}  // namespace uniqguard::guard::mysql_number
