// One value of a VALUES row or of a `col = value` assignment. Only what the server reads without
// evaluating anything is a literal: a string (adjacent strings joined, an introducer in front),
// a hex or bit literal, a signed number, NULL, TRUE / FALSE, DEFAULT, a `?`. The rest is an
// expression whose note says what it looked like.
#include "parse_context.hpp"

namespace uniqguard::sql::mysql {
namespace {

// [introducer] string [string ...] or [introducer] hex/bit literal, exactly filling [a, b).
bool read_string_literal(const Context& ctx, std::size_t a, std::size_t b, Value& v) {
    std::size_t i = a;
    if (ctx.kind_is(i, MySqlTokenKind::charset_introducer)) {
        v.charset_introducer = lower_ascii(ctx.text(i).substr(1));
        ++i;
    }
    if (i >= b) return false;
    const MySqlTokenKind first = ctx.token(i).kind;
    if (is_binary_literal_kind(first)) {
        if (i + 1 != b) return false;
        auto bytes = decode_mysql_literal(ctx.text(i), first, ctx.dialect());
        if (!bytes) return false;
        v.text = std::move(*bytes);
        v.form = (first == MySqlTokenKind::hex_string || first == MySqlTokenKind::hex_number)
                     ? LiteralForm::hex
                     : LiteralForm::bit;
    } else if (is_string_kind(first)) {
        // N'x' is the national character set; it takes no introducer of its own.
        if (first == MySqlTokenKind::national_string) {
            if (!v.charset_introducer.empty()) return false;
            v.charset_introducer = "utf8mb3";
        }
        for (std::size_t k = i; k < b; ++k) {
            // Only plain strings may follow the first ('a' 'b', N'a' 'b'; not 'a' N'b').
            if (k > i && !ctx.kind_is(k, MySqlTokenKind::string)) return false;
            auto part = decode_mysql_literal(ctx.text(k), ctx.token(k).kind, ctx.dialect());
            if (!part) return false;
            v.text += *part;
        }
    } else {
        return false;
    }
    v.literal = ctx.range(a, b - 1);
    if (v.text.empty() && v.form == LiteralForm::quoted && ctx.dialect().empty_string_is_null) {
        // The server's own reading (THD::make_string_literal*): NULL, whatever the introducer.
        v.kind = ValueKind::null;
        v.charset_introducer.clear();
        return true;
    }
    v.kind = ValueKind::literal_string;
    return true;
}

// [+|-]... number, exactly filling [a, b). The text keeps the number as written with the sign
// the signs amount to: - -5 is "5", -1.5e3 is "-1.5e3".
bool read_number(const Context& ctx, std::size_t a, std::size_t b, Value& v) {
    bool negative = false;
    std::size_t i = a;
    while (i + 1 < b && (ctx.symbol(i, "-") || ctx.symbol(i, "+"))) {
        if (ctx.symbol(i, "-")) negative = !negative;
        ++i;
    }
    if (i + 1 != b || !is_number_kind(ctx.token(i).kind)) return false;
    v.kind = ValueKind::literal_number;
    v.text = negative ? "-" : "";
    v.text += ctx.text(i);
    v.literal = ctx.range(a, i);
    return true;
}

// What an expression looked like, for its note.
std::string_view describe(const Context& ctx, std::size_t a, std::size_t b) {
    if (ctx.symbol(a, "(")) {
        if (ctx.skip_group(a) == b) {
            if (ctx.word(a + 1, "select") || ctx.word(a + 1, "with") || ctx.word(a + 1, "values")) {
                return "subquery";
            }
            // ((SELECT 1)) is a subquery too, ((1)) is not.
            if (ctx.symbol(a + 1, "(") && describe(ctx, a + 1, b - 1) == "subquery") {
                return "subquery";
            }
            return "parenthesized expression";
        }
        return "operator expression";
    }
    if (ctx.kind_is(a, MySqlTokenKind::variable)) {
        return b == a + 1 ? "variable" : "operator expression";
    }
    if (ctx.is_name(a)) {
        std::vector<std::string> parts;
        const std::size_t after = ctx.dotted_name(a, parts);
        if (after == b) return "column reference";
        if (after != Context::npos && ctx.symbol(after, "(") && ctx.skip_group(after) == b) {
            if (ctx.word(a, "values") || ctx.word(a, "value")) return "VALUES() reference";
            if (ctx.word(a, "cast") || ctx.word(a, "convert")) return "cast";
            return "function call";
        }
        if (b == a + 2 &&
            (ctx.word(a, "date") || ctx.word(a, "time") || ctx.word(a, "timestamp")) &&
            ctx.kind_is(a + 1, MySqlTokenKind::string)) {
            return "typed literal";
        }
    }
    return "operator expression";
}

}  // namespace

Value read_value(const Context& ctx, std::size_t from, std::size_t to) {
    if (from >= to) return Value::expression_of("missing value", {});
    const SourceRange whole = ctx.range(from, to - 1);
    Value v;
    v.range = whole;
    if (to == from + 1) {
        const MySqlToken& t = ctx.token(from);
        if (t.kind == MySqlTokenKind::parameter) {
            v.kind = ValueKind::parameter;
            v.parameter = ctx.parameter_number(from);
            v.literal = whole;
            return v;
        }
        if (t.kind == MySqlTokenKind::null_escape || ctx.word(from, "null")) {
            v.kind = ValueKind::null;
            v.literal = whole;
            return v;
        }
        if (ctx.word(from, "default")) {
            v.kind = ValueKind::default_;
            v.literal = whole;
            return v;
        }
        if (ctx.word(from, "true") || ctx.word(from, "false")) {
            v.kind = ValueKind::literal_bool;
            v.text = ctx.word(from, "true") ? "true" : "false";
            v.literal = whole;
            return v;
        }
    }
    if (read_string_literal(ctx, from, to, v)) return v;
    v = Value{};
    v.range = whole;
    if (read_number(ctx, from, to, v)) return v;
    return Value::expression_of(describe(ctx, from, to), whole);
}

bool read_assignments(const Context& ctx, std::size_t from, std::size_t to,
                      std::vector<Assignment>& out, std::string& why) {
    if (from >= to) {
        why = "empty assignment list";
        return false;
    }
    for (const auto& [a, b] : ctx.split_commas(from, to)) {
        std::vector<std::string> parts;
        const std::size_t after = ctx.dotted_name(a, parts);
        if (after == Context::npos || after >= b || !ctx.symbol(after, "=")) {
            why = "an assignment that is not `column = value`";
            return false;
        }
        Assignment as;
        as.column = parts.back();
        as.target = ctx.range(a, after - 1);
        as.value = read_value(ctx, after + 1, b);
        out.push_back(std::move(as));
    }
    return true;
}

}  // namespace uniqguard::sql::mysql
