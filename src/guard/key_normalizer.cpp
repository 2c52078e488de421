#include "guard/key_normalizer.hpp"

#include <array>
#include <cstring>
#include <limits>

#include "pg_datetime.hpp"
#include "pg_numeric.hpp"
#include "pg_text.hpp"

namespace uniqguard::guard {
namespace {

using detail::Numeric;
using detail::Parse;

NormalizeStatus status_of(Parse p) {
    switch (p) {
        case Parse::ok:
            return NormalizeStatus::ok;
        case Parse::invalid:
            return NormalizeStatus::invalid;
        case Parse::unsure:
            return NormalizeStatus::cannot_normalize;
    }
    return NormalizeStatus::cannot_normalize;
}

bool is_int(TypeKind k) {
    return k == TypeKind::int2 || k == TypeKind::int4 || k == TypeKind::int8;
}
bool is_char(TypeKind k) {
    return k == TypeKind::text || k == TypeKind::varchar || k == TypeKind::bpchar;
}
bool has_modifiers(const ColumnType& t) {
    return t.max_length >= 0 || t.precision >= 0 || t.fractional_digits >= 0;
}

bool fits(std::int64_t v, TypeKind k) {
    switch (k) {
        case TypeKind::int2:
            return v >= std::numeric_limits<std::int16_t>::min() &&
                   v <= std::numeric_limits<std::int16_t>::max();
        case TypeKind::int4:
            return v >= std::numeric_limits<std::int32_t>::min() &&
                   v <= std::numeric_limits<std::int32_t>::max();
        default:
            return true;
    }
}

void append_be(std::string& out, std::uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
}

std::uint64_t read_be(util::Bytes v) {
    std::uint64_t u = 0;
    for (std::uint8_t b : v) u = (u << 8) | b;
    return u;
}

// pg_strtoint16/32/64: blanks, one sign, at least one digit, blanks; range per width.
Parse parse_int_text(std::string_view s, TypeKind k, std::int64_t& out) {
    std::size_t i = 0;
    while (i < s.size() && detail::pg_isspace(s[i])) ++i;
    bool neg = false;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
        neg = s[i] == '-';
        ++i;
    }
    if (i >= s.size() || !detail::is_digit(s[i])) return Parse::invalid;
    // The magnitude limit: 2^(bits-1) for negatives, one less for positives.
    const std::uint64_t limit = k == TypeKind::int2   ? (1ull << 15)
                                : k == TypeKind::int4 ? (1ull << 31)
                                                      : (1ull << 63);
    const std::uint64_t max_mag = neg ? limit : limit - 1;
    std::uint64_t mag = 0;
    bool overflow = false;
    while (i < s.size() && detail::is_digit(s[i])) {
        const auto digit = static_cast<std::uint64_t>(s[i] - '0');
        if (!overflow && mag > (max_mag - digit) / 10) overflow = true;
        if (!overflow) mag = mag * 10 + digit;
        ++i;
    }
    if (!detail::all_pg_space(s.substr(i))) return Parse::invalid;
    if (overflow) return Parse::invalid;  // "out of range for type"
    out = neg ? static_cast<std::int64_t>(0 - mag) : static_cast<std::int64_t>(mag);
    return Parse::ok;
}

Parse parse_int_binary(util::Bytes v, TypeKind k, std::int64_t& out) {
    const std::size_t width = k == TypeKind::int2 ? 2 : k == TypeKind::int4 ? 4 : 8;
    if (v.size() != width) return Parse::invalid;
    const std::uint64_t u = read_be(v);
    switch (k) {
        case TypeKind::int2:
            out = static_cast<std::int16_t>(u);
            break;
        case TypeKind::int4:
            out = static_cast<std::int32_t>(u);
            break;
        default:
            out = static_cast<std::int64_t>(u);
            break;
    }
    return Parse::ok;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// string_to_uuid: an optional '{' (then '}' required), 32 hex digits, a '-' allowed after any
// group of four, nothing else (no blanks).
Parse parse_uuid_text(std::string_view s, std::array<std::uint8_t, 16>& out) {
    std::size_t i = 0;
    const bool braces = !s.empty() && s[0] == '{';
    if (braces) ++i;
    for (std::size_t b = 0; b < 16; ++b) {
        if (i + 2 > s.size()) return Parse::invalid;
        const int hi = hex_value(s[i]), lo = hex_value(s[i + 1]);
        if (hi < 0 || lo < 0) return Parse::invalid;
        out[b] = static_cast<std::uint8_t>(hi * 16 + lo);
        i += 2;
        if (i < s.size() && s[i] == '-' && b % 2 == 1 && b < 15) ++i;
    }
    if (braces) {
        if (i >= s.size() || s[i] != '}') return Parse::invalid;
        ++i;
    }
    return i == s.size() ? Parse::ok : Parse::invalid;
}

// boolin: blanks trimmed, then parse_bool_with_len: in any case, any prefix of true / false /
// yes / no, of on / off at least two letters long ('o' alone is not unique), or 1 / 0.
Parse parse_bool_text(std::string_view s, bool& out) {
    s = detail::trim_pg_space(s);
    struct Word {
        std::string_view word;
        std::size_t min_length;
        bool value;
    };
    static constexpr Word kWords[] = {{"true", 1, true}, {"false", 1, false}, {"yes", 1, true},
                                      {"no", 1, false},  {"on", 2, true},     {"off", 2, false},
                                      {"1", 1, true},    {"0", 1, false}};
    for (const Word& w : kWords) {
        if (s.size() < w.min_length || s.size() > w.word.size()) continue;
        bool match = true;
        for (std::size_t i = 0; i < s.size() && match; ++i) {
            match = detail::ascii_lower(s[i]) == w.word[i];
        }
        if (match) {
            out = w.value;
            return Parse::ok;
        }
    }
    return Parse::invalid;
}

bool has_nul(std::string_view s) { return s.find('\0') != std::string_view::npos; }
bool has_non_ascii(std::string_view s) {
    for (char c : s) {
        if (static_cast<unsigned char>(c) >= 0x80) return true;
    }
    return false;
}

// text / varchar(n) / char(n), from a value of a character type (bytes as the server gets them).
NormalizeStatus append_char(const ColumnType& column, TypeKind source, std::string_view v,
                            const SessionContext& session, std::string& out) {
    // The server verifies the encoding of every text it receives; NUL is never valid.
    if (has_nul(v)) return NormalizeStatus::invalid;
    if (session.server_utf8 && !detail::valid_utf8(v)) return NormalizeStatus::invalid;
    // bpchar → text/varchar is rtrim (pg_cast), and bpchar compares without trailing spaces.
    if (source == TypeKind::bpchar || column.kind == TypeKind::bpchar) {
        while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    }
    const auto n = static_cast<std::size_t>(column.max_length);
    if (column.kind != TypeKind::text && column.max_length >= 0 && v.size() > n) {
        // Longer in bytes than n characters: count characters (UTF-8 only).
        if (!session.server_utf8) return NormalizeStatus::cannot_normalize;
        const std::size_t cut = detail::utf8_prefix_bytes(v, n);
        if (cut < v.size()) {
            // Excess characters must be spaces and are cut off (varchar(), bpchar()). For char
            // the trailing spaces are already gone, so any excess is an error.
            for (std::size_t j = cut; j < v.size(); ++j) {
                if (v[j] != ' ') return NormalizeStatus::invalid;
            }
            v = v.substr(0, cut);
        }
    }
    out.append(v);
    return NormalizeStatus::ok;
}

struct Input {
    bool binary = false;
    std::string_view data;
    util::Bytes bytes() const { return util::as_bytes(data); }
};

NormalizeStatus append_value(const ColumnType& column, const ColumnType& source, Input in,
                             const SessionContext& session, std::string& out) {
    if (source != column && has_modifiers(source)) return NormalizeStatus::cannot_normalize;
    if (!in.binary && !is_char(column.kind)) {
        if (has_nul(in.data)) return NormalizeStatus::invalid;
        if (session.server_utf8 ? !detail::valid_utf8(in.data) : has_non_ascii(in.data)) {
            return session.server_utf8 ? NormalizeStatus::invalid
                                       : NormalizeStatus::cannot_normalize;
        }
    }
    const auto read_numeric = [&](Numeric& n) {
        return in.binary ? detail::parse_numeric_binary(in.bytes(), n)
                         : detail::parse_numeric_text(in.data, n);
    };
    const auto read_int = [&](std::int64_t& v) {
        return in.binary ? parse_int_binary(in.bytes(), source.kind, v)
                         : parse_int_text(in.data, source.kind, v);
    };

    switch (column.kind) {
        case TypeKind::int2:
        case TypeKind::int4:
        case TypeKind::int8: {
            std::int64_t v = 0;
            Parse r = Parse::unsure;
            if (is_int(source.kind)) {
                r = read_int(v);
            } else if (source.kind == TypeKind::numeric) {
                Numeric n;
                r = read_numeric(n);
                if (r == Parse::ok) r = detail::numeric_to_int64(n, v);
            }
            if (r != Parse::ok) return status_of(r);
            if (!fits(v, column.kind)) return NormalizeStatus::invalid;
            append_be(out, static_cast<std::uint64_t>(v), 8);
            return NormalizeStatus::ok;
        }
        case TypeKind::numeric: {
            Numeric n;
            Parse r = Parse::unsure;
            if (is_int(source.kind)) {
                std::int64_t v = 0;
                r = read_int(v);
                if (r == Parse::ok) n = detail::numeric_from_int(v);
            } else if (source.kind == TypeKind::numeric) {
                r = read_numeric(n);
            }
            if (r == Parse::ok) r = detail::apply_numeric_typmod(n, column);
            if (r != Parse::ok) return status_of(r);
            detail::append_numeric_key(n, out);
            return NormalizeStatus::ok;
        }
        case TypeKind::text:
        case TypeKind::varchar:
        case TypeKind::bpchar:
            if (!is_char(source.kind)) return NormalizeStatus::cannot_normalize;
            return append_char(column, source.kind, in.data, session, out);
        default:
            break;
    }

    if (source.kind != column.kind) return NormalizeStatus::cannot_normalize;
    switch (column.kind) {
        case TypeKind::uuid: {
            if (in.binary) {
                if (in.data.size() != 16) return NormalizeStatus::invalid;
                out.append(in.data);
                return NormalizeStatus::ok;
            }
            std::array<std::uint8_t, 16> u{};
            if (Parse r = parse_uuid_text(in.data, u); r != Parse::ok) return status_of(r);
            out.append(reinterpret_cast<const char*>(u.data()), u.size());
            return NormalizeStatus::ok;
        }
        case TypeKind::boolean: {
            bool b = false;
            if (in.binary) {
                if (in.data.size() != 1) return NormalizeStatus::invalid;
                b = in.data[0] != 0;  // boolrecv: any non-zero byte is true
            } else if (Parse r = parse_bool_text(in.data, b); r != Parse::ok) {
                return status_of(r);
            }
            out.push_back(b ? '\1' : '\0');
            return NormalizeStatus::ok;
        }
        case TypeKind::date:
        case TypeKind::timestamp:
        case TypeKind::timestamptz: {
            std::int64_t v = 0;
            const Parse r = in.binary ? detail::parse_datetime_binary(column, in.bytes(), v)
                                      : detail::parse_datetime_text(column, in.data, session, v);
            if (r != Parse::ok) return status_of(r);
            if (column.kind == TypeKind::date) {
                append_be(out, static_cast<std::uint64_t>(v), 4);
            } else {
                append_be(out, static_cast<std::uint64_t>(v), 8);
            }
            return NormalizeStatus::ok;
        }
        default:
            break;
    }
    return NormalizeStatus::cannot_normalize;
}

NormalizedValue to_value(NormalizeStatus s, std::string&& bytes) {
    NormalizedValue v{.status = s};
    if (s == NormalizeStatus::ok) v.bytes = std::move(bytes);
    return v;
}

bool equals_nocase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (detail::ascii_lower(a[i]) != detail::ascii_lower(b[i])) return false;
    }
    return true;
}

// [+-]h[h][:mm[:ss]] to the end of `s`, in seconds (sign as written).
std::optional<std::int32_t> parse_offset(std::string_view s) {
    int sign = 1;
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
        sign = s[0] == '-' ? -1 : 1;
        s.remove_prefix(1);
    }
    std::int32_t parts[3] = {0, 0, 0};
    for (int k = 0; k < 3; ++k) {
        std::size_t d = 0;
        while (d < s.size() && detail::is_digit(s[d])) ++d;
        if (d == 0 || d > 2) return std::nullopt;
        for (std::size_t j = 0; j < d; ++j) parts[k] = parts[k] * 10 + (s[j] - '0');
        s.remove_prefix(d);
        if (s.empty()) break;
        if (s[0] != ':' || k == 2) return std::nullopt;
        s.remove_prefix(1);
    }
    if (!s.empty() || parts[1] > 59 || parts[2] > 59 || parts[0] > 24) return std::nullopt;
    return sign * ((parts[0] * 60 + parts[1]) * 60 + parts[2]);
}

}  // namespace

std::string_view to_string(NormalizeStatus s) {
    switch (s) {
        case NormalizeStatus::ok:
            return "ok";
        case NormalizeStatus::null:
            return "null";
        case NormalizeStatus::invalid:
            return "invalid";
        case NormalizeStatus::cannot_normalize:
            return "cannot_normalize";
    }
    return "?";
}

std::optional<DateOrder> date_order_from_datestyle(std::string_view style) {
    std::optional<DateOrder> order;
    bool german = false;
    while (!style.empty()) {
        const auto sep = style.find_first_of(", \t");
        const std::string_view tok = style.substr(0, sep);
        style.remove_prefix(sep == std::string_view::npos ? style.size() : sep + 1);
        if (tok.empty()) continue;
        std::string t;
        for (char c : tok) t.push_back(detail::ascii_lower(c));
        if (t == "ymd") {
            order = DateOrder::ymd;
        } else if (t == "dmy" || t.starts_with("euro")) {
            order = DateOrder::dmy;
        } else if (t == "mdy" || t == "us" || t.starts_with("noneuro")) {
            order = DateOrder::mdy;
        } else if (t == "german") {
            german = true;
        }
    }
    if (!order && german) order = DateOrder::dmy;  // German alone also sets DMY
    return order;
}

std::optional<std::int32_t> utc_offset_from_timezone(std::string_view tz) {
    static constexpr std::string_view kUtcNames[] = {
        "UTC",       "Etc/UTC",       "UCT",       "Etc/UCT",       "GMT",       "Etc/GMT",
        "GMT0",      "Etc/GMT0",      "GMT+0",     "GMT-0",         "Etc/GMT+0", "Etc/GMT-0",
        "Greenwich", "Etc/Greenwich", "Universal", "Etc/Universal", "Zulu",      "Etc/Zulu",
    };
    for (std::string_view name : kUtcNames) {
        if (equals_nocase(tz, name)) return 0;
    }
    // Etc/GMT+5 is five hours *west* (POSIX sign); the tz database has -14..+12.
    if (tz.size() > 8 && equals_nocase(tz.substr(0, 7), "Etc/GMT") &&
        (tz[7] == '+' || tz[7] == '-')) {
        const std::string_view hours = tz.substr(8);
        if (hours.size() > 2 || hours.empty() || hours[0] == '0') return std::nullopt;
        int h = 0;
        for (char c : hours) {
            if (!detail::is_digit(c)) return std::nullopt;
            h = h * 10 + (c - '0');
        }
        if ((tz[7] == '+' && h > 12) || (tz[7] == '-' && h > 14)) return std::nullopt;
        return (tz[7] == '+' ? -h : h) * 3600;
    }
    // "<+02>-02": a POSIX zone with no daylight-saving part, as SET TIME ZONE <number> makes.
    if (!tz.empty() && tz[0] == '<') {
        const auto close = tz.find('>');
        if (close == std::string_view::npos || close < 2) return std::nullopt;
        const auto posix = parse_offset(tz.substr(close + 1));
        if (!posix) return std::nullopt;
        return -*posix;  // POSIX offsets count west
    }
    return std::nullopt;
}

SessionContext SessionContext::from_settings(std::string_view time_zone,
                                             std::string_view date_style, bool server_utf8) {
    return SessionContext{
        .date_order = date_order_from_datestyle(date_style),
        .utc_offset_seconds = utc_offset_from_timezone(time_zone),
        .server_utf8 = server_utf8,
    };
}

NormalizeStatus append_text(const ColumnType& column, const ColumnType& source,
                            std::string_view text, const SessionContext& session,
                            std::string& out) {
    const std::size_t before = out.size();
    const NormalizeStatus s = append_value(column, source, Input{false, text}, session, out);
    if (s != NormalizeStatus::ok) out.resize(before);
    return s;
}

NormalizeStatus append_binary(const ColumnType& column, const ColumnType& source, util::Bytes value,
                              const SessionContext& session, std::string& out) {
    const std::size_t before = out.size();
    const NormalizeStatus s =
        append_value(column, source, Input{true, util::as_chars(value)}, session, out);
    if (s != NormalizeStatus::ok) out.resize(before);
    return s;
}

NormalizedValue normalize_text(const ColumnType& column, std::string_view text,
                               const SessionContext& session) {
    return normalize_text(column, column, text, session);
}

NormalizedValue normalize_text(const ColumnType& column, const ColumnType& source,
                               std::string_view text, const SessionContext& session) {
    std::string bytes;
    const NormalizeStatus s = append_text(column, source, text, session, bytes);
    return to_value(s, std::move(bytes));
}

NormalizedValue normalize_binary(const ColumnType& column, util::Bytes value,
                                 const SessionContext& session) {
    return normalize_binary(column, column, value, session);
}

NormalizedValue normalize_binary(const ColumnType& column, const ColumnType& source,
                                 util::Bytes value, const SessionContext& session) {
    std::string bytes;
    const NormalizeStatus s = append_binary(column, source, value, session, bytes);
    return to_value(s, std::move(bytes));
}

NormalizedValue normalize_sql_number(const ColumnType& column, std::string_view number) {
    // The lexer's types: an integer that fits int4 is int4, one that fits int8 is int8,
    // anything else (a point, an exponent, more digits) is numeric.
    std::string_view mag = number;
    const bool neg = !mag.empty() && mag[0] == '-';
    if (neg) mag.remove_prefix(1);
    bool integer = !mag.empty();
    for (char c : mag) integer = integer && detail::is_digit(c);
    ColumnType source{.kind = TypeKind::numeric};
    std::int64_t int_value = 0;
    if (integer && parse_int_text(number, TypeKind::int8, int_value) == Parse::ok) {
        source.kind = fits(int_value, TypeKind::int4) ? TypeKind::int4 : TypeKind::int8;
    }
    const SessionContext session{};  // a number does not depend on the session
    if (is_int(column.kind) || column.kind == TypeKind::numeric) {
        return normalize_text(column, source, number, session);
    }
    if (!is_char(column.kind)) return {.status = NormalizeStatus::cannot_normalize};
    // An assignment cast through the number's output function: int4out / int8out /
    // numeric_out (which keeps the written scale: 1.50 stays '1.50').
    std::string rendered;
    if (is_int(source.kind)) {
        rendered = std::to_string(int_value);
    } else {
        Numeric n;
        const Parse r = detail::parse_numeric_text(number, n);
        if (r != Parse::ok) return {.status = status_of(r)};
        if (n.dscale > 1000 || n.exponent > 1000)
            return {.status = NormalizeStatus::cannot_normalize};
        rendered = detail::numeric_to_text(n);
    }
    std::string bytes;
    const NormalizeStatus s =
        append_char(column, TypeKind::text, rendered, SessionContext{.server_utf8 = true}, bytes);
    return to_value(s, std::move(bytes));
}

}  // namespace uniqguard::guard
