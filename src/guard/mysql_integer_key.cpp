#include "guard/mysql_integer_key.hpp"

#include <optional>
#include <string>

#include "mysql_number_literal.hpp"

namespace uniqguard::guard {

namespace {

using Int = __int128;
namespace number = mysql_number;

// The integer nearest to `d`, or nullopt beyond 38 digits (out of every column's range).
std::optional<Int> nearest_integer(const number::Decimal& d, number::Rounding rounding) {
    const auto digits = number::round_scaled(d, 0, rounding, 38);
    if (!digits) return std::nullopt;
    Int value = 0;
    for (char c : *digits) value = value * 10 + (c - '0');
    return d.negative ? -value : value;
}

std::optional<Int> unsigned_big_endian(std::string_view bytes) {
    Int value = 0;
    for (unsigned char c : bytes) value = (value << 8) | c;
    return value;
}

NormalizedValue keyed(const MySqlIntegerColumn& column, std::optional<Int> value) {
    const unsigned bits = column.bytes * 8u;
    const Int low = column.is_unsigned ? Int{0} : -(Int{1} << (bits - 1));
    const Int high = column.is_unsigned ? (Int{1} << bits) - 1 : (Int{1} << (bits - 1)) - 1;
    if (!value || *value < low || *value > high) return {NormalizeStatus::cannot_normalize, {}};
    // Two's complement of the int64 (signed) or the uint64 (unsigned): the same 8 bytes.
    const auto word = static_cast<std::uint64_t>(*value);
    std::string bytes(8, '\0');
    for (std::size_t i = 0; i < 8; ++i) bytes[i] = static_cast<char>(word >> (56 - 8 * i));
    return {NormalizeStatus::ok, std::move(bytes)};
}

}  // namespace

NormalizedValue mysql_integer_key(const MySqlIntegerColumn& column, MySqlLiteral literal,
                                  std::string_view text) {
    const NormalizedValue left_to_the_server{NormalizeStatus::cannot_normalize, {}};
    // A negative number into an UNSIGNED column is out of range even when it rounds to 0
    // ('-0.3': error 1264 when strict, 0 with a warning otherwise).
    const auto sign_fits = [&](const number::Decimal& d) {
        return !(d.negative && column.is_unsigned);
    };
    using R = number::Rounding;
    switch (literal) {
        case MySqlLiteral::exact_number: {
            const auto d = number::read(text, false);
            if (!d || !sign_fits(*d)) return left_to_the_server;
            return keyed(column, nearest_integer(*d, R::half_away_from_zero));
        }
        case MySqlLiteral::approximate_number: {
            const auto d = number::read(text, true);
            if (!d || !sign_fits(*d) || !number::double_is_exact_enough(*d))
                return left_to_the_server;
            return keyed(column, nearest_integer(*d, R::half_to_even));
        }
        case MySqlLiteral::string: {
            const auto d = number::read_string(text);
            if (!d || !sign_fits(*d) || !number::string_is_exact_enough(*d))
                return left_to_the_server;
            return keyed(column, nearest_integer(*d, R::half_away_from_zero));
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
    return left_to_the_server;
}

}  // namespace uniqguard::guard
