#include "guard/mysql_param_key.hpp"

#include <bit>
#include <charconv>
#include <cmath>
#include <optional>
#include <string>

namespace uniqguard::guard {

namespace {

namespace t = protocol::mysql::field_type;

std::uint64_t little_endian(util::Bytes value) {
    std::uint64_t v = 0;
    for (std::size_t i = value.size(); i > 0; --i) v = (v << 8) | value[i - 1];
    return v;
}

}  // namespace

std::optional<MySqlParamLiteral> mysql_param_literal(protocol::mysql::ParamType type,
                                                     util::Bytes value) {
    using AsLiteral = MySqlParamLiteral;
    switch (type.type) {
        case t::tiny:
        case t::short_:
        case t::year:
        case t::long_:
        case t::int24:
        case t::longlong: {
            const std::size_t width = type.type == t::tiny                             ? 1
                                      : type.type == t::short_ || type.type == t::year ? 2
                                      : type.type == t::longlong                       ? 8
                                                                                       : 4;
            if (value.size() != width) return std::nullopt;
            const std::uint64_t raw = little_endian(value);
            if (type.is_unsigned) return AsLiteral{MySqlLiteral::exact_number, std::to_string(raw)};
            // Sign-extend from the value's width.
            const unsigned shift = 64u - 8u * static_cast<unsigned>(width);
            const auto signed_value = static_cast<std::int64_t>(raw << shift) >> shift;
            return AsLiteral{MySqlLiteral::exact_number, std::to_string(signed_value)};
        }
        case t::double_: {
            if (value.size() != 8) return std::nullopt;
            const double d = std::bit_cast<double>(little_endian(value));
            if (!std::isfinite(d)) return std::nullopt;
            // The shortest digits that read back as this double: what the server turns it into.
            char buffer[64];
            const auto r = std::to_chars(buffer, buffer + sizeof buffer, d);
            if (r.ec != std::errc{}) return std::nullopt;
            std::string text(buffer, r.ptr);
            if (text.find_first_of("eE") == std::string::npos) text += "e0";
            return AsLiteral{MySqlLiteral::approximate_number, std::move(text)};
        }
        case t::decimal:
        case t::newdecimal:
            return AsLiteral{MySqlLiteral::exact_number, std::string(util::as_chars(value))};
        default:
            // The string and BLOB types, one list with the long-data rule's (stmt_execute.hpp).
            if (protocol::mysql::is_string_type(type.type))
                return AsLiteral{MySqlLiteral::string, std::string(util::as_chars(value))};
            return std::nullopt;
    }
}

namespace {

const NormalizedValue left_to_the_server{NormalizeStatus::cannot_normalize, {}};

}  // namespace

NormalizedValue mysql_integer_param_key(const MySqlIntegerColumn& column,
                                        protocol::mysql::ParamType type, util::Bytes value) {
    const auto literal = mysql_param_literal(type, value);
    if (!literal) return left_to_the_server;
    return mysql_integer_key(column, literal->form, literal->text);
}

NormalizedValue mysql_decimal_param_key(const MySqlDecimalColumn& column,
                                        protocol::mysql::ParamType type, util::Bytes value) {
    const auto literal = mysql_param_literal(type, value);
    if (!literal) return left_to_the_server;
    return mysql_decimal_key(column, literal->form, literal->text);
}

NormalizedValue mysql_string_param_key(const MySqlStringColumn& column,
                                       protocol::mysql::ParamType type, util::Bytes value,
                                       ClientCharset client) {
    const auto literal = mysql_param_literal(type, value);
    if (!literal || literal->form != MySqlLiteral::string) return left_to_the_server;
    // A BLOB-bound value is binary to the server: copied into the column's character set as
    // its bytes are, not converted from the client's (into a utf16 column, 'ab' is one
    // character). The proxy does not know the column's character set here: left to the server.
    if (protocol::mysql::is_blob_type(type.type)) return left_to_the_server;
    return mysql_string_key(column, literal->text, client);
}

}  // namespace uniqguard::guard
