#include "proxy/pg_parameter_substitution.hpp"

#include <cctype>
#include <charconv>

#include "guard/column_type.hpp"
#include "guard/pg_sql_literal.hpp"

namespace uniqguard::proxy {

namespace {
constexpr std::uint32_t kUnknownOid = 705;

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// An unquoted word at tokens[i], folded as the server folds it; empty when there is none.
std::string word_at(std::string_view text, const std::vector<sql::Token>& tokens, std::size_t i) {
    if (i >= tokens.size() || tokens[i].kind != sql::TokenKind::identifier) return {};
    return lower(sql::token_text(text, tokens[i]));
}

// A name at tokens[i] (unquoted and folded, or quoted and taken as written); nullopt when the
// token is no name.
std::optional<std::string> name_at(std::string_view text, const std::vector<sql::Token>& tokens,
                                   std::size_t i) {
    if (i >= tokens.size()) return std::nullopt;
    const std::string_view t = sql::token_text(text, tokens[i]);
    if (tokens[i].kind == sql::TokenKind::identifier) return lower(t);
    // "x" only: a U&"x" name has escapes the proxy does not decode here.
    if (tokens[i].kind == sql::TokenKind::quoted_identifier && t.size() >= 2 && t.front() == '"') {
        std::string name;
        for (std::size_t k = 1; k + 1 < t.size(); ++k) {
            name += t[k];
            if (t[k] == '"') ++k;  // "" is one quote
        }
        return name;
    }
    return std::nullopt;
}

// A `(n[, m])` type modifier at tokens[i], appended to `name`; `i` moves past it. False when
// the group holds anything but integers (a minus sign allowed: numeric(5,-2)).
bool take_type_modifier(std::string_view text, const std::vector<sql::Token>& tokens,
                        std::size_t& i, std::string& name) {
    if (i >= tokens.size() || !sql::is_symbol(text, tokens[i], "(")) return true;
    name += '(';
    for (++i; i < tokens.size(); ++i) {
        const auto& t = tokens[i];
        if (sql::is_symbol(text, t, ")")) {
            name += ')';
            ++i;
            return true;
        }
        if (t.kind != sql::TokenKind::integer && !sql::is_symbol(text, t, ",") &&
            !sql::is_symbol(text, t, "-"))
            return false;
        name += sql::token_text(text, t);
    }
    return false;
}

// The type named from tokens[i] on (after `::`, or CAST's AS), as one of the key types' OIDs;
// `i` moves past the name. nullopt for any other type, an array, a name the proxy cannot read.
std::optional<std::uint32_t> cast_type_at(std::string_view text,
                                          const std::vector<sql::Token>& tokens, std::size_t& i) {
    if (word_at(text, tokens, i) == "pg_catalog" && i + 1 < tokens.size() &&
        sql::is_symbol(text, tokens[i + 1], "."))
        i += 2;
    std::string name = word_at(text, tokens, i);
    if (name.empty()) return std::nullopt;  // quoted ("char" is another type) or no name
    ++i;
    if ((name == "character" || name == "char") && word_at(text, tokens, i) == "varying") {
        name += " varying";
        ++i;
    }
    if (!take_type_modifier(text, tokens, i, name)) return std::nullopt;
    if (name.starts_with("timestamp")) {
        const std::string with = word_at(text, tokens, i);
        if ((with == "with" || with == "without") && word_at(text, tokens, i + 1) == "time" &&
            word_at(text, tokens, i + 2) == "zone") {
            name += " " + with + " time zone";
            i += 3;
        }
    }
    // int4[] or int4 ARRAY: the parameter is an array.
    if ((i < tokens.size() && sql::is_symbol(text, tokens[i], "[")) ||
        word_at(text, tokens, i) == "array")
        return std::nullopt;
    const auto type = guard::column_type_from_catalog(name, true);
    if (!type) return std::nullopt;
    return guard::builtin_oid(type->kind);
}

// Nothing before tokens[i] binds to it tighter than `=` does: the start, an opening
// parenthesis or a comma, or a keyword of looser binding (SET: an UPDATE's assignment, which
// types the parameter as its column too).
bool starts_comparison(std::string_view text, const std::vector<sql::Token>& tokens,
                       std::size_t i) {
    if (i == 0) return true;
    const auto& t = tokens[i - 1];
    if (sql::is_symbol(text, t, "(") || sql::is_symbol(text, t, ",")) return true;
    const std::string w = word_at(text, tokens, i - 1);
    return w == "where" || w == "and" || w == "or" || w == "not" || w == "set";
}

// Nothing after tokens[i - 1] binds to it tighter than `=` does: the end, a closing
// parenthesis or a comma, or a keyword of looser binding (IS, AND, OR, WHERE, RETURNING).
bool ends_comparison(std::string_view text, const std::vector<sql::Token>& tokens, std::size_t i) {
    if (i >= tokens.size()) return true;
    if (sql::is_symbol(text, tokens[i], ")") || sql::is_symbol(text, tokens[i], ",")) return true;
    const std::string w = word_at(text, tokens, i);
    return w == "and" || w == "or" || w == "is" || w == "where" || w == "returning";
}

bool is_select_boundary(const std::string& w) {
    return w == "where" || w == "group" || w == "having" || w == "order" || w == "limit" ||
           w == "offset" || w == "fetch" || w == "for" || w == "window" || w == "union" ||
           w == "intersect" || w == "except";
}

// The `select` that opens the SELECT whose clauses hold tokens[at] (the nearest one before it
// at its own nesting level or an enclosing one: a parenthesised expression is passed through, a
// closed subquery before it skipped); nullopt when tokens[at] is in no SELECT.
std::optional<std::size_t> enclosing_select(std::string_view text,
                                            const std::vector<sql::Token>& tokens, std::size_t at) {
    int depth = 0;
    for (std::size_t k = at; k-- > 0;) {
        if (sql::is_symbol(text, tokens[k], ")")) {
            ++depth;
        } else if (sql::is_symbol(text, tokens[k], "(")) {
            if (depth > 0) --depth;  // else: an enclosing group, its level is searched on
        } else if (depth == 0 && sql::is_word(text, tokens[k], "select")) {
            return k;
        }
    }
    return std::nullopt;
}

// The name the columns of the SELECT opened at tokens[select_at] are qualified by, when its
// FROM is the statement's target table alone (`FROM t`, `FROM ONLY t`, `FROM s.t AS x`, named
// as the statement names the target); nullopt otherwise (no FROM, another table, a join, a
// list, a function).
std::optional<std::string> target_qualifier_of_select(std::string_view text,
                                                      const std::vector<sql::Token>& tokens,
                                                      std::size_t select_at,
                                                      const sql::QualifiedName& target) {
    int depth = 0;
    std::size_t i = select_at + 1;
    for (; i < tokens.size(); ++i) {
        if (sql::is_symbol(text, tokens[i], "(")) {
            ++depth;
        } else if (sql::is_symbol(text, tokens[i], ")")) {
            if (depth == 0) return std::nullopt;  // the SELECT ends without a FROM
            --depth;
        } else if (depth == 0 && tokens[i].kind == sql::TokenKind::identifier) {
            const std::string w = word_at(text, tokens, i);
            // (not IS [NOT] DISTINCT FROM's)
            if (w == "from" && word_at(text, tokens, i - 1) != "distinct") break;
            if (is_select_boundary(w)) return std::nullopt;
        }
    }
    if (++i < tokens.size() && word_at(text, tokens, i) == "only") ++i;
    auto first = name_at(text, tokens, i);
    if (!first) return std::nullopt;
    sql::QualifiedName named{.schema = {}, .name = *first};
    ++i;
    if (i + 1 < tokens.size() && sql::is_symbol(text, tokens[i], ".")) {
        auto second = name_at(text, tokens, i + 1);
        if (!second) return std::nullopt;
        named = {.schema = *first, .name = *second};
        i += 2;
    }
    if (!(named == target)) return std::nullopt;
    std::string qualifier = named.name;
    if (word_at(text, tokens, i) == "as") ++i;
    if (i < tokens.size() && !sql::is_symbol(text, tokens[i], ")") &&
        !sql::is_symbol(text, tokens[i], ";") && !is_select_boundary(word_at(text, tokens, i))) {
        auto alias = name_at(text, tokens, i);
        if (!alias) return std::nullopt;
        qualifier = *alias;
        ++i;
    }
    // Anything else after the table (a comma, a JOIN, TABLESAMPLE, column aliases) brings in
    // other columns or is not read here.
    if (i < tokens.size() && !sql::is_symbol(text, tokens[i], ")") &&
        !sql::is_symbol(text, tokens[i], ";") && !is_select_boundary(word_at(text, tokens, i)))
        return std::nullopt;
    return qualifier;
}

// `column = $n` or `qualifier.column = $n` at tokens[at], nothing binding tighter before or
// after, whatever the column's table.
bool is_column_comparison(std::string_view text, const std::vector<sql::Token>& tokens,
                          std::size_t at) {
    if (at < 2 || !sql::is_symbol(text, tokens[at - 1], "=") ||
        !ends_comparison(text, tokens, at + 1) || !name_at(text, tokens, at - 2))
        return false;
    std::size_t first = at - 2;
    if (first >= 2 && sql::is_symbol(text, tokens[first - 1], ".")) {
        if (!name_at(text, tokens, first - 2)) return false;
        first -= 2;
    }
    for (const auto& t : tokens)
        if (sql::is_word(text, t, "between")) return false;
    return starts_comparison(text, tokens, first);
}

// `column = $n` with the parameter at tokens[at]: the column's type, if the column is the
// target table's.
std::optional<std::uint32_t> compared_column_type(std::string_view text,
                                                  const std::vector<sql::Token>& tokens,
                                                  std::size_t at,
                                                  const SubstitutionContext& context) {
    if (!context.table || at < 2 || !sql::is_symbol(text, tokens[at - 1], "=") ||
        !ends_comparison(text, tokens, at + 1))
        return std::nullopt;
    // `x BETWEEN 1 AND col = $1` compares the BETWEEN's result: not followed here.
    for (const auto& t : tokens)
        if (sql::is_word(text, t, "between")) return std::nullopt;
    // Inside a SELECT the columns are its FROM's (`… IN (SELECT id FROM r WHERE created =
    // $1)`): followed only when that is the target table.
    std::string_view qualifier = context.qualifier;
    std::optional<std::string> select_qualifier;
    if (const auto select_at = enclosing_select(text, tokens, at)) {
        if (!context.target_name || context.target_name->name.empty()) return std::nullopt;
        // A WITH list in the text may name a query as the table is named, which a FROM then
        // reads in its place (`timestamp with time zone` is not one).
        for (std::size_t k = 0; k < tokens.size(); ++k)
            if (sql::is_word(text, tokens[k], "with") &&
                !(word_at(text, tokens, k + 1) == "time" && word_at(text, tokens, k + 2) == "zone"))
                return std::nullopt;
        select_qualifier =
            target_qualifier_of_select(text, tokens, *select_at, *context.target_name);
        if (!select_qualifier) return std::nullopt;
        qualifier = *select_qualifier;
    }
    const std::size_t column_at = at - 2;
    const auto column = name_at(text, tokens, column_at);
    if (!column) return std::nullopt;
    std::size_t first = column_at;
    if (column_at >= 2 && sql::is_symbol(text, tokens[column_at - 1], ".")) {
        const auto named = name_at(text, tokens, column_at - 2);
        if (!named || *named != qualifier) return std::nullopt;
        first = column_at - 2;
    }
    if (!starts_comparison(text, tokens, first)) return std::nullopt;
    for (const auto& c : context.table->columns)
        if (c.name == *column) return c.type_oid;
    return std::nullopt;
}
}  // namespace

std::optional<std::uint32_t> inferred_parameter_type(std::string_view text,
                                                     const std::vector<sql::Token>& tokens,
                                                     std::size_t at,
                                                     const SubstitutionContext& context) {
    // `::` binds tightest of all: `$n::type` reads the parameter as the type, whatever the
    // expression around it.
    if (at + 1 < tokens.size() && sql::is_symbol(text, tokens[at + 1], "::")) {
        std::size_t i = at + 2;
        return cast_type_at(text, tokens, i);
    }
    if (at >= 2 && sql::is_symbol(text, tokens[at - 1], "(") &&
        word_at(text, tokens, at - 2) == "cast" && word_at(text, tokens, at + 1) == "as") {
        std::size_t i = at + 2;
        const auto type = cast_type_at(text, tokens, i);
        if (i < tokens.size() && sql::is_symbol(text, tokens[i], ")")) return type;
        return std::nullopt;
    }
    if (tokens.size() == 1 && context.whole_value_oid != 0) return context.whole_value_oid;
    return compared_column_type(text, tokens, at, context);
}

std::optional<std::string> substitute_parameters(std::string_view text,
                                                 const ParameterValues& parameters,
                                                 const SubstitutionContext& context) {
    std::vector<sql::Token> tokens;
    sql::lex_postgres(text, tokens,
                      {.standard_conforming_strings = context.standard_conforming_strings});
    const auto& bind = parameters.bind;
    std::string out;
    std::size_t at = 0;
    for (std::size_t k = 0; k < tokens.size(); ++k) {
        const auto& t = tokens[k];
        if (t.kind == sql::TokenKind::invalid) return std::nullopt;  // where a $n may hide
        if (t.kind != sql::TokenKind::parameter) continue;
        const std::string_view digits = sql::token_text(text, t).substr(1);
        std::size_t n = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
        if (ec != std::errc{} || end != digits.data() + digits.size() || n < 1 ||
            n > bind.values.size())
            return std::nullopt;
        const std::size_t i = n - 1;
        std::uint32_t oid = parameter_type(parameters.types, i, bind.binary(i));
        if (oid == kNoCommonType && bind.values[i]) return std::nullopt;
        if ((oid == 0 || oid == kUnknownOid) && bind.binary(i) && bind.values[i]) {
            const auto inferred = inferred_parameter_type(text, tokens, k, context);
            if (!inferred) return std::nullopt;
            oid = *inferred;
        }
        auto value =
            guard::parameter_as_sql(oid == kNoCommonType ? 0 : oid, bind.binary(i), bind.values[i]);
        if (!value) return std::nullopt;
        out.append(text.substr(at, t.offset - at));
        out += "(" + *value + ")";
        at = t.end();
    }
    out.append(text.substr(at));
    return out;
}

std::vector<std::uint32_t> with_repeated_parameter_types(
    std::string_view statement, const std::vector<std::uint32_t>& declared,
    const std::vector<std::pair<std::size_t, std::uint32_t>>& bare_values,
    const SubstitutionContext& context) {
    std::vector<sql::Token> tokens;
    sql::lex_postgres(statement, tokens,
                      {.standard_conforming_strings = context.standard_conforming_strings});
    // Per parameter: its uses, the type its typed uses agree on so far (0: none yet), whether
    // one could not be typed, and whether such a one may fix the type before a typed one.
    std::vector<std::uint32_t> uses, agreed, typed_uses, compared_uses;
    std::vector<bool> untyped, untyped_first, bare, outside_late_clauses;
    // An INSERT's ON CONFLICT clause and RETURNING list are analysed after its rows (VALUES or
    // SELECT, assigned to their columns): a use there reads the type a use in the rows fixed.
    std::vector<bool> in_tail_only, typed_in_rows;
    // An untyped use that cannot fix the type: a bare item of the select list of INSERT …
    // SELECT (no WITH, no UNION). The server creates such an item untyped when it reads the
    // select list and assigns it to its column only after the whole SELECT: a use in the
    // SELECT's later clauses (WHERE, GROUP BY, HAVING, ORDER BY, LIMIT) has fixed the type by
    // then, and the assignment must find exactly that type (else the server refuses the Parse:
    // 42P08, inconsistent types deduced). A use read before the item (in FROM, in an earlier
    // item) or after the assignment (ON CONFLICT, RETURNING) is not so bound: the item is then
    // typed, and assigned with a cast. Anywhere else (an operand in an UPDATE's WHERE, analysed
    // before its SET; a CTE) the untyped use may be the first the server types.
    // Beside such a bare item, one `column = $n` in those later clauses with a column the proxy
    // cannot type (another table's) is harmless too, alone: it types the parameter as that
    // column, which the bare item's column must then be — so an untyped text value reads alike
    // at both. (A second use would read the parameter already typed.)
    const bool insert_select = !tokens.empty() && word_at(statement, tokens, 0) == "insert";
    int depth = 0;
    bool in_select_list = false;   // the outermost SELECT's list
    bool in_late_clauses = false;  // its WHERE … LIMIT
    bool past_select = false;      // ON CONFLICT, RETURNING
    bool set_operation = false;
    for (std::size_t k = 0; k < tokens.size(); ++k) {
        if (sql::is_symbol(statement, tokens[k], "(")) ++depth;
        if (sql::is_symbol(statement, tokens[k], ")")) --depth;
        if (depth == 0 && tokens[k].kind == sql::TokenKind::identifier) {
            const std::string w = word_at(statement, tokens, k);
            if (w == "select") {
                in_select_list = true;
                in_late_clauses = false;
            } else if (w == "from" || w == "where" || w == "group" || w == "having" ||
                       w == "order" || w == "limit" || w == "offset" || w == "union" ||
                       w == "intersect" || w == "except" || w == "returning" || w == "on" ||
                       w == "window" || w == "for" || w == "fetch" || w == "into") {
                in_select_list = false;
            }
            if (w == "union" || w == "intersect" || w == "except") set_operation = true;
            if (w == "returning" || (w == "on" && word_at(statement, tokens, k + 1) == "conflict"))
                past_select = true;
            if (w == "from") in_late_clauses = false;  // (IS DISTINCT FROM: refused, safely)
            if (!past_select && (w == "where" || w == "group" || w == "having" || w == "order" ||
                                 w == "limit" || w == "offset" || w == "fetch"))
                in_late_clauses = true;
        }
        if (tokens[k].kind != sql::TokenKind::parameter) continue;
        const std::string_view digits = sql::token_text(statement, tokens[k]).substr(1);
        std::size_t n = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
        // (past the protocol's 65,535 parameters: the server refuses the statement)
        if (ec != std::errc{} || end != digits.data() + digits.size() || n < 1 || n > 65535)
            continue;
        if (uses.size() < n) {
            uses.resize(n, 0);
            agreed.resize(n, 0);
            typed_uses.resize(n, 0);
            compared_uses.resize(n, 0);
            untyped.resize(n, false);
            untyped_first.resize(n, false);
            bare.resize(n, false);
            outside_late_clauses.resize(n, false);
            in_tail_only.resize(n, false);
            typed_in_rows.resize(n, false);
        }
        const std::size_t i = n - 1;
        std::optional<std::uint32_t> type;
        for (const auto& [offset, oid] : bare_values)
            if (offset == tokens[k].offset) type = oid;
        if (!type) type = inferred_parameter_type(statement, tokens, k, context);
        ++uses[i];
        const bool bare_item =
            !type && insert_select && in_select_list && depth == 0 && k > 0 &&
            (word_at(statement, tokens, k - 1) == "select" ||
             sql::is_symbol(statement, tokens[k - 1], ",")) &&
            (k + 1 == tokens.size() || sql::is_symbol(statement, tokens[k + 1], ",") ||
             sql::is_symbol(statement, tokens[k + 1], ";") ||
             word_at(statement, tokens, k + 1) == "from" ||
             word_at(statement, tokens, k + 1) == "where");
        if (bare_item) {
            untyped[i] = true;
            bare[i] = true;
            continue;
        }
        if (!(insert_select && in_late_clauses && !past_select)) outside_late_clauses[i] = true;
        if (!type) {
            untyped[i] = true;
            if (insert_select && past_select)
                in_tail_only[i] = true;
            else if (insert_select && is_column_comparison(statement, tokens, k))
                ++compared_uses[i];
            else
                untyped_first[i] = true;
            continue;
        }
        if (!past_select) typed_in_rows[i] = true;
        ++typed_uses[i];
        if (agreed[i] == 0)
            agreed[i] = *type;
        else if (*type != agreed[i])
            agreed[i] = kNoCommonType;
    }
    std::vector<std::uint32_t> types = declared;
    if (types.size() < uses.size()) types.resize(uses.size(), 0);
    for (std::size_t i = 0; i < uses.size(); ++i) {
        if (uses[i] < 2 || (types[i] != 0 && types[i] != kUnknownOid)) continue;
        bool common = agreed[i] != kNoCommonType && !untyped_first[i];
        if (bare[i]) {
            common = common && !set_operation && !outside_late_clauses[i] &&
                     (compared_uses[i] == 0 || compared_uses[i] + typed_uses[i] == 1);
            types[i] = common ? kPartlyTyped : kNoCommonType;
            continue;
        }
        common = common && compared_uses[i] == 0 && (!in_tail_only[i] || typed_in_rows[i]);
        // (untyped uses left: only ON CONFLICT's or RETURNING's, reading the rows' type)
        types[i] = common ? agreed[i] : kNoCommonType;
    }
    return types;
}

}  // namespace uniqguard::proxy
