#include "guard/pg_sql_literal.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <limits>
#include <vector>

#include "pg_numeric.hpp"
#include "util/bytes.hpp"

namespace uniqguard::guard {
namespace {

// PostgreSQL 15's keywords that are not UNRESERVED_KEYWORD (RESERVED, COL_NAME and
// TYPE_FUNC_NAME: quote_identifier quotes them), sorted for binary search. Taken from a 15.18
// server: SELECT word FROM pg_get_keywords() WHERE catcode <> 'U' ORDER BY word COLLATE "C".
// clang-format off
constexpr std::array<std::string_view, 151> kQuotedKeywords = {
    "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization",
    "between", "bigint", "binary", "bit", "boolean", "both", "case", "cast", "char", "character",
    "check", "coalesce", "collate", "collation", "column", "concurrently", "constraint", "create",
    "cross", "current_catalog", "current_date", "current_role", "current_schema", "current_time",
    "current_timestamp", "current_user", "dec", "decimal", "default", "deferrable", "desc",
    "distinct", "do", "else", "end", "except", "exists", "extract", "false", "fetch", "float",
    "for", "foreign", "freeze", "from", "full", "grant", "greatest", "group", "grouping", "having",
    "ilike", "in", "initially", "inner", "inout", "int", "integer", "intersect", "interval", "into",
    "is", "isnull", "join", "lateral", "leading", "least", "left", "like", "limit", "localtime",
    "localtimestamp", "national", "natural", "nchar", "none", "normalize", "not", "notnull", "null",
    "nullif", "numeric", "offset", "on", "only", "or", "order", "out", "outer", "overlaps",
    "overlay", "placing", "position", "precision", "primary", "real", "references", "returning",
    "right", "row", "select", "session_user", "setof", "similar", "smallint", "some", "substring",
    "symmetric", "table", "tablesample", "then", "time", "timestamp", "to", "trailing", "treat",
    "trim", "true", "union", "unique", "user", "using", "values", "varchar", "variadic", "verbose",
    "when", "where", "window", "with", "xmlattributes", "xmlconcat", "xmlelement", "xmlexists",
    "xmlforest", "xmlnamespaces", "xmlparse", "xmlpi", "xmlroot", "xmlserialize", "xmltable",
};
// clang-format on

namespace oid {
constexpr std::uint32_t kBool = 16, kBytea = 17, kChar = 18, kName = 19, kInt8 = 20, kInt2 = 21,
                        kInt4 = 23, kText = 25, kOid = 26, kJson = 114, kFloat4 = 700,
                        kFloat8 = 701, kUnknown = 705, kBpchar = 1042, kVarchar = 1043,
                        kDate = 1082, kTime = 1083, kTimestamp = 1114, kTimestamptz = 1184,
                        kInterval = 1186, kNumeric = 1700, kUuid = 2950, kJsonb = 3802;
}  // namespace oid

struct TypeName {
    std::uint32_t oid;
    std::string_view name;
};
constexpr std::array<TypeName, 23> kTypeNames = {{
    {oid::kBool, "bool"},
    {oid::kBytea, "bytea"},
    {oid::kChar, "\"char\""},
    {oid::kName, "name"},
    {oid::kInt8, "int8"},
    {oid::kInt2, "int2"},
    {oid::kInt4, "int4"},
    {oid::kText, "text"},
    {oid::kOid, "oid"},
    {oid::kJson, "json"},
    {oid::kFloat4, "float4"},
    {oid::kFloat8, "float8"},
    {oid::kUnknown, "unknown"},
    {oid::kBpchar, "bpchar"},
    {oid::kVarchar, "varchar"},
    {oid::kDate, "date"},
    {oid::kTime, "time"},
    {oid::kTimestamp, "timestamp"},
    {oid::kTimestamptz, "timestamptz"},
    {oid::kInterval, "interval"},
    {oid::kNumeric, "numeric"},
    {oid::kUuid, "uuid"},
    {oid::kJsonb, "jsonb"},
}};

constexpr std::int64_t kUsecsPerDay = 86'400'000'000;
constexpr std::int64_t kPostgresEpochJdate = 2451545;  // date2j(2000, 1, 1)
// The range date_recv and timestamp_recv accept (IS_VALID_DATE, IS_VALID_TIMESTAMP): from
// 4714-11-24 BC up to, not including, 5874898-01-01 and 294277-01-01.
constexpr std::int64_t kMinDate = -kPostgresEpochJdate;
constexpr std::int64_t kEndDate = 2147483494 - kPostgresEpochJdate;
constexpr std::int64_t kMinTimestamp = -211813488000000000;
constexpr std::int64_t kEndTimestamp = 9223371331200000000;
constexpr std::size_t kNameDataLen = 64;  // NAMEDATALEN: namerecv refuses names this long

std::uint64_t read_be(std::string_view v) {
    std::uint64_t u = 0;
    for (char c : v) u = (u << 8) | static_cast<unsigned char>(c);
    return u;
}

bool is_plain_lower(char c) { return (c >= 'a' && c <= 'z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

template <typename T>
std::string to_text(T v) {
    std::array<char, 32> buf{};
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    return {buf.data(), r.ptr};
}

// Floats as float4in/float8in (strtof/strtod) read them back to the same bits: the shortest
// round-trip form ("1e+16", "-0", "1.4e-45"). Every NaN is one value to the server.
template <typename F>
std::string float_text(F f) {
    if (std::isnan(f)) return "NaN";
    if (std::isinf(f)) return f > 0 ? "Infinity" : "-Infinity";
    return to_text(f);
}

void append_padded(std::string& out, std::int64_t v, int width) {
    const std::string s = std::to_string(v);
    if (static_cast<int>(s.size()) < width) out.append(width - s.size(), '0');
    out += s;
}

struct CivilDate {
    std::int64_t year;  // astronomical: 0 is 1 BC
    int month;
    int day;
};

// Proleptic Gregorian calendar, as the server's j2date (Howard Hinnant's civil_from_days).
CivilDate civil_from_days(std::int64_t days_since_2000) {
    const std::int64_t z = days_since_2000 + 10957 + 719468;  // days since 0000-03-01
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const std::int64_t doe = z - era * 146097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;
    const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    return {yoe + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

// YYYY-MM-DD, the year zero-padded to four digits and BC years as positive numbers: a first
// field of 3+ digits is a year under every DateStyle. The " BC" goes last (after any time), as
// date_out and timestamp_out write it and their input functions read it.
void append_date(std::string& out, const CivilDate& d) {
    append_padded(out, d.year > 0 ? d.year : 1 - d.year, 4);
    out.push_back('-');
    append_padded(out, d.month, 2);
    out.push_back('-');
    append_padded(out, d.day, 2);
}

std::optional<std::string> date_text(std::int32_t days) {
    if (days == std::numeric_limits<std::int32_t>::min()) return "-infinity";
    if (days == std::numeric_limits<std::int32_t>::max()) return "infinity";
    if (days < kMinDate || days >= kEndDate) return std::nullopt;
    const CivilDate d = civil_from_days(days);
    std::string s;
    append_date(s, d);
    if (d.year <= 0) s += " BC";
    return s;
}

// `zone` is "+00" for timestamptz: an explicit UTC offset makes the session TimeZone irrelevant.
std::optional<std::string> timestamp_text(std::int64_t usecs, std::string_view zone) {
    if (usecs == std::numeric_limits<std::int64_t>::min()) return "-infinity";
    if (usecs == std::numeric_limits<std::int64_t>::max()) return "infinity";
    if (usecs < kMinTimestamp || usecs >= kEndTimestamp) return std::nullopt;
    std::int64_t days = usecs / kUsecsPerDay;
    std::int64_t time = usecs % kUsecsPerDay;
    if (time < 0) {  // floor division: the time of day is never negative
        time += kUsecsPerDay;
        --days;
    }
    const CivilDate d = civil_from_days(days);
    std::string s;
    append_date(s, d);
    s.push_back(' ');
    const std::int64_t secs = time / 1'000'000;
    append_padded(s, secs / 3600, 2);
    s.push_back(':');
    append_padded(s, secs / 60 % 60, 2);
    s.push_back(':');
    append_padded(s, secs % 60, 2);
    if (std::int64_t frac = time % 1'000'000; frac != 0) {
        s.push_back('.');
        append_padded(s, frac, 6);
        while (s.back() == '0') s.pop_back();
    }
    s += zone;
    if (d.year <= 0) s += " BC";
    return s;
}

std::string uuid_text(std::string_view v) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s;
    s.reserve(36);
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
        const auto b = static_cast<unsigned char>(v[i]);
        s.push_back(kHex[b >> 4]);
        s.push_back(kHex[b & 0xF]);
    }
    return s;
}

std::string bytea_text(std::string_view v) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s = "\\x";
    s.reserve(2 + 2 * v.size());
    for (char c : v) {
        const auto b = static_cast<unsigned char>(c);
        s.push_back(kHex[b >> 4]);
        s.push_back(kHex[b & 0xF]);
    }
    return s;
}

// The send format of a type → the text its input function reads back to the same value, or
// nullopt when the receive function would refuse the bytes (or the type is not handled).
std::optional<std::string> binary_as_text(std::uint32_t type_oid, std::string_view v) {
    switch (type_oid) {
        case oid::kBool:
            if (v.size() != 1) return std::nullopt;
            return v[0] != 0 ? "true" : "false";  // boolrecv: any nonzero byte is true
        case oid::kInt2:
            if (v.size() != 2) return std::nullopt;
            return to_text(static_cast<std::int16_t>(read_be(v)));
        case oid::kInt4:
            if (v.size() != 4) return std::nullopt;
            return to_text(static_cast<std::int32_t>(read_be(v)));
        case oid::kInt8:
            if (v.size() != 8) return std::nullopt;
            return to_text(static_cast<std::int64_t>(read_be(v)));
        case oid::kOid:
            if (v.size() != 4) return std::nullopt;
            return to_text(static_cast<std::uint32_t>(read_be(v)));
        case oid::kFloat4:
            if (v.size() != 4) return std::nullopt;
            return float_text(std::bit_cast<float>(static_cast<std::uint32_t>(read_be(v))));
        case oid::kFloat8:
            if (v.size() != 8) return std::nullopt;
            return float_text(std::bit_cast<double>(read_be(v)));
        case oid::kNumeric: {
            // numeric_recv's checks and truncation to dscale, then numeric_out, which writes
            // exactly dscale fractional digits: numeric_in reads the same value and scale.
            detail::Numeric n;
            if (detail::parse_numeric_binary(util::as_bytes(v), n) != detail::Parse::ok) {
                return std::nullopt;
            }
            return detail::numeric_to_text(n);
        }
        case oid::kName:
        case oid::kText:
        case oid::kVarchar:
        case oid::kBpchar:
            // The receive functions verify the encoding, which refuses NUL. A parameter has
            // typmod -1, so no length applies, but namerecv refuses a name that namein would
            // truncate.
            if (v.find('\0') != std::string_view::npos) return std::nullopt;
            if (type_oid == oid::kName && v.size() >= kNameDataLen) return std::nullopt;
            return std::string(v);
        case oid::kBytea:
            return bytea_text(v);
        case oid::kUuid:
            if (v.size() != 16) return std::nullopt;
            return uuid_text(v);
        case oid::kDate:
            if (v.size() != 4) return std::nullopt;
            return date_text(static_cast<std::int32_t>(read_be(v)));
        case oid::kTimestamp:
            if (v.size() != 8) return std::nullopt;
            return timestamp_text(static_cast<std::int64_t>(read_be(v)), "");
        case oid::kTimestamptz:
            if (v.size() != 8) return std::nullopt;
            return timestamp_text(static_cast<std::int64_t>(read_be(v)), "+00");
        default:
            return std::nullopt;
    }
}

}  // namespace

std::string quote_literal(std::string_view text) {
    std::string s;
    s.reserve(text.size() + 3);
    s += "E'";
    for (char c : text) {
        if (c == '\'' || c == '\\') s.push_back(c);
        s.push_back(c);
    }
    s.push_back('\'');
    return s;
}

std::string quote_identifier(std::string_view ident) {
    bool safe = !ident.empty() && is_plain_lower(ident[0]) &&
                std::all_of(ident.begin(), ident.end(),
                            [](char c) { return is_plain_lower(c) || is_digit(c); });
    if (safe) safe = !std::binary_search(kQuotedKeywords.begin(), kQuotedKeywords.end(), ident);
    if (safe) return std::string(ident);
    std::string s;
    s.reserve(ident.size() + 2);
    s.push_back('"');
    for (char c : ident) {
        if (c == '"') s.push_back(c);
        s.push_back(c);
    }
    s.push_back('"');
    return s;
}

std::string dollar_quote_tag(std::string_view body) {
    // The tag is '$' + "uniqguard[_N]" + '$' and only its ends are '$'. So it occurs in
    // body + tag before the closing one exactly when the body holds "$uniqguard[_N]" followed by
    // '$' or by the body's end. Collect those N (0 for the bare tag) in one pass; the smallest
    // free one is at most the number of occurrences, plus one.
    constexpr std::string_view kStem = "$uniqguard";
    std::vector<std::size_t> taken;
    for (std::size_t p = body.find(kStem); p != std::string_view::npos;
         p = body.find(kStem, p + 1)) {
        std::size_t i = p + kStem.size();
        if (i == body.size() || body[i] == '$') {
            taken.push_back(0);
            continue;
        }
        if (body[i] != '_') continue;
        const std::size_t start = ++i;
        while (i < body.size() && is_digit(body[i])) ++i;
        const std::size_t len = i - start;
        // Our tags have no leading zero and never need more than 9 digits here.
        if (len == 0 || len > 9 || body[start] == '0') continue;
        if (i != body.size() && body[i] != '$') continue;
        std::size_t n = 0;
        std::from_chars(body.data() + start, body.data() + i, n);
        taken.push_back(n);
    }
    std::sort(taken.begin(), taken.end());
    std::size_t n = 0;
    for (std::size_t t : taken) {
        if (t == n) ++n;
        if (t > n) break;
    }
    if (n == 0) return "$uniqguard$";
    return "$uniqguard_" + std::to_string(n) + "$";
}

std::optional<std::string_view> builtin_type_name(std::uint32_t type_oid) {
    for (const TypeName& t : kTypeNames) {
        if (t.oid == type_oid) return t.name;
    }
    return std::nullopt;
}

std::optional<std::string> parameter_as_sql(std::uint32_t type_oid, bool binary_format,
                                            std::optional<std::string_view> value) {
    const bool unspecified = type_oid == 0 || type_oid == oid::kUnknown;
    const std::optional<std::string_view> name = builtin_type_name(type_oid);
    if (!value) {
        if (unspecified || !name) return "NULL";
        return "NULL::" + std::string(*name);
    }
    if (!binary_format) {
        // The server cannot hold a NUL in text, and an input function would read a cstring cut
        // short at it: refuse rather than guess.
        if (value->find('\0') != std::string_view::npos) return std::nullopt;
        if (unspecified) return quote_literal(*value);
        if (!name) return std::nullopt;
        return quote_literal(*value) + "::" + std::string(*name);
    }
    if (unspecified || !name) return std::nullopt;
    const std::optional<std::string> text = binary_as_text(type_oid, *value);
    if (!text) return std::nullopt;
    return quote_literal(*text) + "::" + std::string(*name);
}

}  // namespace uniqguard::guard
