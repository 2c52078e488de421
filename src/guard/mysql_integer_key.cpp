#include "guard/mysql_integer_key.hpp"

#include <optional>
#include <string>

namespace uniqguard::guard {

namespace {

using Int = __int128;

// A decimal read from text: ±digits × 10^exponent, digits without leading zeros.
struct Decimal {
    bool negative = false;
    std::string digits;
    std::int64_t exponent = 0;
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// [+-]? (digits [. digits*] | . digits) ([eE] [+-]? digits)?, the whole of `s`.
std::optional<Decimal> read_decimal(std::string_view s, bool allow_exponent) {
    Decimal d;
    std::size_t at = 0;
    if (at < s.size() && (s[at] == '+' || s[at] == '-')) d.negative = s[at++] == '-';
    std::size_t mantissa_digits = 0;
    std::int64_t fraction_digits = 0;
    for (; at < s.size() && is_digit(s[at]); ++at, ++mantissa_digits) d.digits += s[at];
    if (at < s.size() && s[at] == '.') {
        for (++at; at < s.size() && is_digit(s[at]); ++at, ++mantissa_digits, ++fraction_digits)
            d.digits += s[at];
    }
    if (mantissa_digits == 0) return std::nullopt;
    std::int64_t exponent = 0;
    if (at < s.size() && (s[at] == 'e' || s[at] == 'E')) {
        if (!allow_exponent) return std::nullopt;
        ++at;
        bool negative_exponent = false;
        if (at < s.size() && (s[at] == '+' || s[at] == '-')) negative_exponent = s[at++] == '-';
        if (at == s.size()) return std::nullopt;
        for (; at < s.size() && is_digit(s[at]); ++at) {
            exponent = exponent * 10 + (s[at] - '0');
            if (exponent > 100000) return std::nullopt;  // far outside any integer's range
        }
        if (negative_exponent) exponent = -exponent;
    }
    if (at != s.size()) return std::nullopt;
    d.exponent = exponent - fraction_digits;
    const auto first = d.digits.find_first_not_of('0');
    d.digits.erase(0, first == std::string::npos ? d.digits.size() : first);
    return d;
}

enum class Rounding { half_away_from_zero, half_to_even };

// The integer nearest to `d`, or nullopt when it is beyond 39 digits (out of every range).
std::optional<Int> round_to_integer(const Decimal& d, Rounding rounding) {
    std::string whole = d.digits;
    std::string dropped;  // the digits after the decimal point
    if (d.exponent >= 0) {
        if (whole.size() + static_cast<std::size_t>(d.exponent) > 38) return std::nullopt;
        if (!whole.empty()) whole.append(static_cast<std::size_t>(d.exponent), '0');
    } else {
        const auto shift = static_cast<std::size_t>(-d.exponent);
        if (shift >= whole.size()) {
            dropped = std::string(shift - whole.size(), '0') + whole;
            whole.clear();
        } else {
            dropped = whole.substr(whole.size() - shift);
            whole.resize(whole.size() - shift);
        }
    }
    if (whole.size() > 38) return std::nullopt;
    Int value = 0;
    for (char c : whole) value = value * 10 + (c - '0');
    if (!dropped.empty() && dropped[0] >= '5') {
        const bool exactly_half =
            dropped[0] == '5' && dropped.find_first_not_of('0', 1) == std::string::npos;
        if (!exactly_half || rounding == Rounding::half_away_from_zero || value % 2 == 1) ++value;
    }
    return d.negative ? -value : value;
}

// Whether a DOUBLE literal's value is exactly enough known: at most 15 significant digits (the
// nearest double is then within a rounding step far smaller than the distance to the next
// half), and below 2^53 in magnitude (integers a double holds exactly).
bool double_is_exact_enough(const Decimal& d) {
    const auto last = d.digits.find_last_not_of('0');
    const std::size_t significant = last == std::string::npos ? 0 : last + 1;
    if (significant > 15) return false;
    const auto integer_digits = static_cast<std::int64_t>(d.digits.size()) + d.exponent;
    return integer_digits <= 15;  // < 10^15 < 2^53
}

std::string_view trim_string(std::string_view s) {
    constexpr std::string_view blanks = " \t\r\n";
    const auto first = s.find_first_not_of(blanks);
    if (first == std::string_view::npos) return {};
    return s.substr(first, s.find_last_not_of(blanks) - first + 1);
}

std::optional<Int> unsigned_big_endian(std::string_view bytes) {
    Int value = 0;
    for (unsigned char c : bytes) {
        if (value >> 112 != 0) return std::nullopt;
        value = (value << 8) | c;
    }
    return value;
}

// Whether the server reads a string's number exactly: with at most 18 digits of mantissa
// (leading zeros aside) it does; with more, MariaDB 10.11 overflows while it reads the digits
// ('9223372036854775808e-19' is stored as 0, not 1).
bool string_is_exact_enough(const Decimal& d) { return d.digits.size() <= 18; }

NormalizedValue keyed(const MySqlIntegerColumn& column, std::optional<Int> value) {
    const unsigned bits = column.bytes * 8u;
    const Int low = column.is_unsigned ? Int{0} : -(Int{1} << (bits - 1));
    const Int high = column.is_unsigned ? (Int{1} << bits) - 1 : (Int{1} << (bits - 1)) - 1;
    if (!value || *value < low || *value > high) return {NormalizeStatus::cannot_normalize, {}};
    // Two's complement of the int64 (signed) or the uint64 (unsigned): the same 8 bytes.
    const auto word = static_cast<std::uint64_t>(*value);
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i)
        bytes[static_cast<std::size_t>(i)] = static_cast<char>(word >> (56 - 8 * i));
    return {NormalizeStatus::ok, std::move(bytes)};
}

}  // namespace

NormalizedValue mysql_integer_key(const MySqlIntegerColumn& column, MySqlLiteral literal,
                                  std::string_view text) {
    const NormalizedValue left_to_the_server{NormalizeStatus::cannot_normalize, {}};
    // A negative number into an UNSIGNED column is out of range even when it rounds to 0
    // ('-0.3': error 1264 when strict, 0 with a warning otherwise).
    const auto signed_ok = [&](const Decimal& d) { return !(d.negative && column.is_unsigned); };
    switch (literal) {
        case MySqlLiteral::exact_number: {
            const auto d = read_decimal(text, false);
            if (!d || !signed_ok(*d)) return left_to_the_server;
            return keyed(column, round_to_integer(*d, Rounding::half_away_from_zero));
        }
        case MySqlLiteral::approximate_number: {
            const auto d = read_decimal(text, true);
            if (!d || !signed_ok(*d) || !double_is_exact_enough(*d)) return left_to_the_server;
            return keyed(column, round_to_integer(*d, Rounding::half_to_even));
        }
        case MySqlLiteral::string: {
            const auto d = read_decimal(trim_string(text), true);
            if (!d || !signed_ok(*d) || !string_is_exact_enough(*d)) return left_to_the_server;
            return keyed(column, round_to_integer(*d, Rounding::half_away_from_zero));
        }
        case MySqlLiteral::hex_number:
        case MySqlLiteral::bit:
            // More than 8 bytes is out of range whatever their value (leading zeros included).
            if (text.size() > 8) return left_to_the_server;
            return keyed(column, unsigned_big_endian(text));
        case MySqlLiteral::boolean:
            return keyed(column, Int{text == "1" ? 1 : 0});
        case MySqlLiteral::hex_string:
            break;
    }
    return {NormalizeStatus::cannot_normalize, {}};
}

}  // namespace uniqguard::guard
