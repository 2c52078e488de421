#include "guard/mysql_repeatable_where.hpp"

#include <algorithm>
#include <array>
#include <vector>

namespace uniqguard::guard {

namespace {

// Words that may stand before `(` in a condition and give the same answer every time for the
// same row: operators written as words, and deterministic built-in functions.
constexpr std::array<std::string_view, 60> repeatable_calls = {
    "and",       "or",       "not",     "xor",    "in",          "is",           "like",
    "between",   "row",      "exists",  "lower",  "upper",       "lcase",        "ucase",
    "trim",      "ltrim",    "rtrim",   "concat", "concat_ws",   "coalesce",     "ifnull",
    "nullif",    "if",       "abs",     "length", "char_length", "octet_length", "character_length",
    "substring", "substr",   "left",    "right",  "mid",         "cast",         "convert",
    "date",      "year",     "month",   "day",    "hex",         "unhex",        "reverse",
    "replace",   "round",    "floor",   "ceil",   "ceiling",     "mod",          "greatest",
    "least",     "binary",   "collate", "locate", "instr",       "position",     "strcmp",
    "sign",      "truncate", "lpad",    "rpad",
};

}  // namespace

std::optional<std::string> mysql_unrepeatable_in_where(std::string_view where,
                                                       const sql::MySqlDialect& dialect) {
    if (where.find("/*!") != std::string_view::npos || where.find("/*M!") != std::string_view::npos)
        return "an executable comment";
    std::vector<sql::MySqlToken> tokens;
    if (sql::lex_mysql(where, dialect, tokens)) return "text the proxy cannot read";
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const auto& t = tokens[i];
        if (t.kind == sql::MySqlTokenKind::variable) return "a variable";
        if (sql::is_symbol(where, t, ":=")) return "an assignment";
        if (t.kind != sql::MySqlTokenKind::identifier) continue;
        const auto word = sql::token_text(where, t);
        if (sql::is_word(where, t, "select")) return "a subquery";
        const bool call = i + 1 < tokens.size() && sql::is_symbol(where, tokens[i + 1], "(");
        if (!call) continue;
        const bool known =
            std::any_of(repeatable_calls.begin(), repeatable_calls.end(),
                        [&](std::string_view w) { return sql::is_word(where, t, w); });
        if (!known) return "the function " + std::string(word) + "()";
    }
    return std::nullopt;
}

}  // namespace uniqguard::guard
