#include "guard/mysql_decimal_key.hpp"

#include <optional>
#include <string>

#include "mysql_number_literal.hpp"

namespace uniqguard::guard {

namespace {

namespace number = mysql_number;

NormalizedValue keyed(bool negative, const std::optional<std::string>& scaled) {
    if (!scaled) return {NormalizeStatus::cannot_normalize, {}};
    std::string bytes(1, negative && !scaled->empty() ? '-' : '+');
    bytes += *scaled;
    return {NormalizeStatus::ok, std::move(bytes)};
}

}  // namespace

NormalizedValue mysql_decimal_key(const MySqlDecimalColumn& column, MySqlLiteral literal,
                                  std::string_view text) {
    const NormalizedValue left_to_the_server{NormalizeStatus::cannot_normalize, {}};
    std::optional<number::Decimal> d;
    switch (literal) {
        case MySqlLiteral::exact_number:
            d = number::read(text, false);
            break;
        case MySqlLiteral::approximate_number:
            d = number::read(text, true);
            if (d && !number::double_is_exact_enough(*d)) return left_to_the_server;
            break;
        case MySqlLiteral::string:
            d = number::read_string(text);
            if (d && !number::string_is_exact_enough(*d)) return left_to_the_server;
            break;
        case MySqlLiteral::hex_number:
        case MySqlLiteral::bit: {
            // At most 8 bytes, as for integer columns: the number's decimal digits.
            if (text.size() > 8) return left_to_the_server;
            std::uint64_t value = 0;
            for (unsigned char c : text) value = (value << 8) | c;
            d = number::read(std::to_string(value), false);
            break;
        }
        case MySqlLiteral::boolean:
            d = number::read(text == "1" ? "1" : "0", false);
            break;
        case MySqlLiteral::hex_string:
            return left_to_the_server;
    }
    if (!d || (d->negative && column.is_unsigned)) return left_to_the_server;
    return keyed(d->negative,
                 number::round_scaled(*d, column.scale, number::Rounding::half_away_from_zero,
                                      column.precision));
}

}  // namespace uniqguard::guard
