#include "guard/mysql_param_sql.hpp"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "guard/mysql_param_key.hpp"

namespace uniqguard::guard {

namespace {

namespace t = protocol::mysql::field_type;

std::uint64_t little_endian(util::Bytes value) {
    std::uint64_t v = 0;
    for (std::size_t i = value.size(); i > 0; --i) v = (v << 8) | value[i - 1];
    return v;
}

std::string hex_of(util::Bytes value) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out = "X'";
    for (const std::uint8_t b : value) {
        out += digits[b >> 4];
        out += digits[b & 0x0F];
    }
    return out + "'";
}

std::optional<std::string> double_sql(double d) {
    if (!std::isfinite(d)) return std::nullopt;
    char buffer[64];
    const auto r = std::to_chars(buffer, buffer + sizeof buffer, d);
    if (r.ec != std::errc{}) return std::nullopt;
    std::string text(buffer, r.ptr);
    if (text.find_first_of("eE") == std::string::npos) text += "e0";
    return text;
}

bool is_decimal_text(std::string_view s) {
    std::size_t i = 0;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    bool digits = false, point = false;
    for (; i < s.size(); ++i) {
        if (s[i] >= '0' && s[i] <= '9') {
            digits = true;
        } else if (s[i] == '.' && !point) {
            point = true;
        } else {
            return false;
        }
    }
    return digits;
}

bool leap(unsigned year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

unsigned days_in(unsigned year, unsigned month) {
    static constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && leap(year) ? 29 : days[month - 1];
}

// The binary DATE / DATETIME / TIMESTAMP: year (2 bytes), month, day [, hour, minute, second
// [, microseconds (4 bytes)]]; 0 bytes is the zero date, left to the server, as is a date
// the calendar does not have (the server may take it where no date is compared).
std::optional<std::string> temporal_sql(std::uint8_t type, util::Bytes v) {
    if (v.size() != 4 && v.size() != 7 && v.size() != 11) return std::nullopt;
    const unsigned year = v[0] | (v[1] << 8);
    const unsigned month = v[2], day = v[3];
    const unsigned hour = v.size() > 4 ? v[4] : 0, minute = v.size() > 4 ? v[5] : 0,
                   second = v.size() > 4 ? v[6] : 0;
    const auto micro = v.size() > 7 ? static_cast<unsigned>(little_endian(v.subspan(7, 4))) : 0u;
    if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1 ||
        day > days_in(year, month) || hour > 23 || minute > 59 || second > 59 || micro > 999999)
        return std::nullopt;
    char buffer[64];
    if (type == t::date)
        std::snprintf(buffer, sizeof buffer, "DATE'%04u-%02u-%02u'", year, month, day);
    else if (micro == 0)
        std::snprintf(buffer, sizeof buffer, "TIMESTAMP'%04u-%02u-%02u %02u:%02u:%02u'", year,
                      month, day, hour, minute, second);
    else
        std::snprintf(buffer, sizeof buffer, "TIMESTAMP'%04u-%02u-%02u %02u:%02u:%02u.%06u'", year,
                      month, day, hour, minute, second, micro);
    return std::string(buffer);
}

// A quoted literal of `bytes`, as the session's lexer reads it back: a quote doubled; with
// backslash escapes on, a backslash and a NUL byte escaped too.
std::string quoted(std::string_view bytes, bool no_backslash_escapes) {
    std::string out = "'";
    for (const char c : bytes) {
        if (c == '\'') {
            out += "''";
        } else if (c == '\\' && !no_backslash_escapes) {
            out += "\\\\";
        } else if (c == '\0' && !no_backslash_escapes) {
            out += "\\0";
        } else {
            out += c;
        }
    }
    return out + "'";
}

}  // namespace

std::optional<std::string> mysql_param_sql(const protocol::mysql::ExecuteParam& param,
                                           bool no_backslash_escapes) {
    if (param.long_data && !param.long_data_kept) return std::nullopt;
    if (param.is_null && !param.long_data) return "NULL";
    const auto& type = param.type;
    const util::Bytes value = param.value;
    switch (type.type) {
        case t::float_:
            if (value.size() != 4) return std::nullopt;
            // The server widens the float to a double: every float is one exactly.
            return double_sql(static_cast<double>(
                std::bit_cast<float>(static_cast<std::uint32_t>(little_endian(value)))));
        case t::date:
        case t::datetime:
        case t::timestamp:
            return temporal_sql(type.type, value);
        default:
            if (protocol::mysql::is_blob_type(type.type)) return "_binary " + hex_of(value);
            if (protocol::mysql::is_string_type(type.type))
                return quoted(util::as_chars(value), no_backslash_escapes);
            // Integers, DOUBLE, DECIMAL: the number the key readers read (mysql_param_key.hpp),
            // a DECIMAL's text only when it is one.
            auto number = mysql_param_literal(type, value);
            if (!number ||
                (number->form == MySqlLiteral::exact_number && !is_decimal_text(number->text)))
                return std::nullopt;
            return std::move(number->text);
    }
}

std::optional<std::string> mysql_text_with_params(
    std::string_view sql, const std::vector<sql::MySqlToken>& tokens, std::size_t from,
    std::size_t to, std::span<const protocol::mysql::ExecuteParam> params,
    bool no_backslash_escapes, bool parenthesize_negatives) {
    std::string out;
    std::size_t number = 0;  // of the last `?`
    std::size_t copied = from;
    for (const auto& token : tokens) {
        if (token.kind != sql::MySqlTokenKind::parameter) continue;
        ++number;
        if (token.offset < from || token.end() > to) continue;
        if (number > params.size()) return std::nullopt;
        auto value = mysql_param_sql(params[number - 1], no_backslash_escapes);
        if (!value) return std::nullopt;
        out.append(sql.substr(copied, token.offset - copied));
        out += ' ';
        if (parenthesize_negatives && value->front() == '-') {
            out += '(';
            out += *value;
            out += ')';
        } else {
            out += *value;
        }
        out += ' ';
        copied = token.end();
    }
    if (copied < to) out.append(sql.substr(copied, to - copied));
    return out;
}

}  // namespace uniqguard::guard
