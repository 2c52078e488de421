#include "guard/column_type.hpp"

#include <charconv>
#include <vector>

namespace uniqguard::guard {
namespace {

constexpr std::int32_t kVarHdrSz = 4;              // VARHDRSZ: typmods of varlena types carry it
constexpr std::int32_t kMaxCharLength = 10485760;  // MaxAttrSize as varchar/bpchar accept
constexpr int kNumericMaxPrecision = 1000;
constexpr int kNumericMinScale = -1000;
constexpr int kNumericMaxScale = 1000;
constexpr int kMaxTimestampPrecision = 6;

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Lower-cased (ASCII), blanks collapsed to one space, no blanks next to '(' ')' ','.
std::string canonical_spelling(std::string_view in) {
    std::string out;
    bool pending_space = false;
    for (char c : in) {
        if (is_blank(c)) {
            pending_space = !out.empty();
            continue;
        }
        const bool punct = c == '(' || c == ')' || c == ',';
        if (pending_space && !punct && !out.empty() && out.back() != '(' && out.back() != ',') {
            out.push_back(' ');
        }
        pending_space = false;
        out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
    }
    return out;
}

std::optional<int> parse_int(std::string_view s) {
    int v = 0;
    const char* first = s.data();
    if (!s.empty() && s.front() == '+') ++first;
    auto [ptr, ec] = std::from_chars(first, s.data() + s.size(), v);
    if (ec != std::errc{} || ptr != s.data() + s.size() || first == s.data() + s.size()) {
        return std::nullopt;
    }
    return v;
}

bool collatable(TypeKind k) {
    return k == TypeKind::text || k == TypeKind::varchar || k == TypeKind::bpchar;
}

std::optional<ColumnType> with_length(TypeKind kind, const std::vector<int>& args) {
    ColumnType t{.kind = kind};
    if (args.empty()) return t;
    if (args.size() != 1 || args[0] < 1 || args[0] > kMaxCharLength) return std::nullopt;
    t.max_length = args[0];
    return t;
}

std::optional<ColumnType> numeric_with(const std::vector<int>& args) {
    ColumnType t{.kind = TypeKind::numeric};
    if (args.empty()) return t;
    if (args.size() > 2) return std::nullopt;
    const int p = args[0];
    const int s = args.size() == 2 ? args[1] : 0;
    if (p < 1 || p > kNumericMaxPrecision || s < kNumericMinScale || s > kNumericMaxScale) {
        return std::nullopt;
    }
    t.precision = static_cast<std::int16_t>(p);
    t.scale = static_cast<std::int16_t>(s);
    return t;
}

std::optional<ColumnType> timestamp_with(TypeKind kind, const std::vector<int>& args) {
    ColumnType t{.kind = kind};
    if (args.empty()) return t;
    if (args.size() != 1 || args[0] < 0) return std::nullopt;
    // As the server: a precision above 6 is reduced to 6 (with a warning).
    t.fractional_digits = static_cast<std::int8_t>(
        args[0] > kMaxTimestampPrecision ? kMaxTimestampPrecision : args[0]);
    return t;
}

std::optional<ColumnType> from_spelling(std::string_view name, const std::vector<int>& args,
                                        bool has_args) {
    auto plain = [&](TypeKind k) -> std::optional<ColumnType> {
        if (has_args) return std::nullopt;
        return ColumnType{.kind = k};
    };
    if (name == "int2" || name == "smallint") return plain(TypeKind::int2);
    if (name == "int4" || name == "integer" || name == "int") return plain(TypeKind::int4);
    if (name == "int8" || name == "bigint") return plain(TypeKind::int8);
    if (name == "text") return plain(TypeKind::text);
    if (name == "uuid") return plain(TypeKind::uuid);
    if (name == "bool" || name == "boolean") return plain(TypeKind::boolean);
    if (name == "date") return plain(TypeKind::date);
    if (name == "numeric" || name == "decimal") return numeric_with(args);
    if (name == "varchar" || name == "character varying") {
        return with_length(TypeKind::varchar, args);
    }
    if (name == "bpchar" || name == "character") return with_length(TypeKind::bpchar, args);
    // "char" alone is pg_catalog's one-byte type; "char(n)" can only be bpchar.
    if (name == "char" && has_args) return with_length(TypeKind::bpchar, args);
    if (name == "timestamp" || name == "timestamp without time zone") {
        return timestamp_with(TypeKind::timestamp, args);
    }
    if (name == "timestamptz" || name == "timestamp with time zone") {
        return timestamp_with(TypeKind::timestamptz, args);
    }
    return std::nullopt;
}

}  // namespace

namespace {
struct BuiltinOid {
    TypeKind kind;
    std::uint32_t oid;
};
constexpr BuiltinOid kBuiltinOids[] = {
    {TypeKind::int2, 21},      {TypeKind::int4, 23},        {TypeKind::int8, 20},
    {TypeKind::numeric, 1700}, {TypeKind::text, 25},        {TypeKind::varchar, 1043},
    {TypeKind::bpchar, 1042},  {TypeKind::uuid, 2950},      {TypeKind::boolean, 16},
    {TypeKind::date, 1082},    {TypeKind::timestamp, 1114}, {TypeKind::timestamptz, 1184},
};
}  // namespace

std::uint32_t builtin_oid(TypeKind kind) {
    for (const auto& b : kBuiltinOids)
        if (b.kind == kind) return b.oid;
    return 0;  // not reached: every kind is in the table
}

std::optional<TypeKind> kind_of_builtin_oid(std::uint32_t oid) {
    for (const auto& b : kBuiltinOids)
        if (b.oid == oid) return b.kind;
    return std::nullopt;
}

std::string_view to_string(TypeKind kind) {
    switch (kind) {
        case TypeKind::int2:
            return "int2";
        case TypeKind::int4:
            return "int4";
        case TypeKind::int8:
            return "int8";
        case TypeKind::numeric:
            return "numeric";
        case TypeKind::text:
            return "text";
        case TypeKind::varchar:
            return "varchar";
        case TypeKind::bpchar:
            return "bpchar";
        case TypeKind::uuid:
            return "uuid";
        case TypeKind::boolean:
            return "bool";
        case TypeKind::date:
            return "date";
        case TypeKind::timestamp:
            return "timestamp";
        case TypeKind::timestamptz:
            return "timestamptz";
    }
    return "?";
}

std::string ColumnType::to_string() const {
    switch (kind) {
        case TypeKind::int2:
            return "smallint";
        case TypeKind::int4:
            return "integer";
        case TypeKind::int8:
            return "bigint";
        case TypeKind::numeric:
            if (precision < 0) return "numeric";
            return "numeric(" + std::to_string(precision) + "," + std::to_string(scale) + ")";
        case TypeKind::text:
            return "text";
        case TypeKind::varchar:
            return max_length < 0 ? "character varying"
                                  : "character varying(" + std::to_string(max_length) + ")";
        case TypeKind::bpchar:
            return max_length < 0 ? "bpchar" : "character(" + std::to_string(max_length) + ")";
        case TypeKind::uuid:
            return "uuid";
        case TypeKind::boolean:
            return "boolean";
        case TypeKind::date:
            return "date";
        case TypeKind::timestamp:
        case TypeKind::timestamptz: {
            std::string s = "timestamp";
            if (fractional_digits >= 0) s += "(" + std::to_string(fractional_digits) + ")";
            return s + (kind == TypeKind::timestamp ? " without time zone" : " with time zone");
        }
    }
    return "?";
}

std::optional<ColumnType> column_type_from_catalog(std::string_view type_name,
                                                   bool deterministic_collation) {
    std::string s = canonical_spelling(type_name);
    if (s.starts_with("pg_catalog.")) s.erase(0, 11);
    if (s.find_first_of("[]\"") != std::string::npos) return std::nullopt;

    // At most one "(...)" group, wherever format_type puts it: "timestamp(3) with time zone".
    std::vector<int> args;
    bool has_args = false;
    if (const auto open = s.find('('); open != std::string::npos) {
        const auto close = s.find(')', open);
        if (close == std::string::npos || s.find('(', open + 1) != std::string::npos ||
            s.find(')', close + 1) != std::string::npos) {
            return std::nullopt;
        }
        std::string_view inner = std::string_view(s).substr(open + 1, close - open - 1);
        while (true) {
            const auto comma = inner.find(',');
            auto v = parse_int(inner.substr(0, comma));
            if (!v) return std::nullopt;
            args.push_back(*v);
            if (comma == std::string_view::npos) break;
            inner.remove_prefix(comma + 1);
        }
        has_args = true;
        std::string rest = s.substr(0, open);
        std::string tail = s.substr(close + 1);
        if (!tail.empty() && tail.front() != ' ') rest += ' ';
        s = rest + tail;
    }
    auto t = from_spelling(s, args, has_args);
    if (t && collatable(t->kind) && !deterministic_collation) return std::nullopt;
    return t;
}

std::optional<ColumnType> column_type_from_catalog(std::string_view typname, std::int32_t atttypmod,
                                                   bool deterministic_collation) {
    const std::string name = canonical_spelling(typname);
    std::optional<ColumnType> t;
    if (name == "int2" || name == "int4" || name == "int8" || name == "text" || name == "uuid" ||
        name == "bool" || name == "date") {
        t = from_spelling(name, {}, false);
    } else if (name == "varchar" || name == "bpchar") {
        t = ColumnType{.kind = name == "varchar" ? TypeKind::varchar : TypeKind::bpchar};
        if (atttypmod >= 0) {
            if (atttypmod <= kVarHdrSz || atttypmod - kVarHdrSz > kMaxCharLength) {
                return std::nullopt;
            }
            t->max_length = atttypmod - kVarHdrSz;
        }
    } else if (name == "numeric") {
        std::vector<int> args;
        if (atttypmod >= kVarHdrSz) {
            const std::int32_t tm = atttypmod - kVarHdrSz;
            args.push_back((tm >> 16) & 0xffff);
            args.push_back(((tm & 0x7ff) ^ 1024) - 1024);  // 11-bit signed scale (PG 15)
        }
        t = numeric_with(args);
    } else if (name == "timestamp" || name == "timestamptz") {
        std::vector<int> args;
        if (atttypmod >= 0) args.push_back(atttypmod);
        t = timestamp_with(name == "timestamp" ? TypeKind::timestamp : TypeKind::timestamptz, args);
    }
    if (t && collatable(t->kind) && !deterministic_collation) return std::nullopt;
    return t;
}

}  // namespace uniqguard::guard
