// A prepared statement's parameters written into SQL text as values, for the statements the
// proxy runs beside or in place of the client's (the guard's checks and rewrites).
//
// A parameter is only written as the value the server would have read when the proxy knows the
// type the server gives it. Parse may declare it; when it does not (OID 0), a text-format value
// is written as an untyped literal, which the server types from its place exactly as it typed
// the parameter. A binary value has no such escape: its bytes mean something only in the
// server's type, which the proxy reads from the text around the `$n`:
//   - a cast right after it, `$n::type` or `CAST($n AS type)`: the cast's type;
//   - the whole text is `$n` and is one column's value: the column's type;
//   - `column = $n` in a WHERE (the column the target table's, bare or qualified by the
//     target's name or alias, nothing binding tighter before or after; no BETWEEN anywhere in
//     the text): the column's type. Inside a SELECT (a subquery, INSERT … SELECT's own) the
//     column is that SELECT's: typed only when its FROM is the target table alone, named as
//     the statement names it (`… WHERE NOT EXISTS (SELECT 1 FROM t WHERE a = $1)`), the
//     qualifier then that FROM's alias or the table's name.
// Anywhere else (inside an expression, an operator's operand) the proxy does not infer the
// server's type, and the substitution is refused (nullopt) rather than guessed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "guard/guard_catalog.hpp"
#include "protocol/postgres/frontend_messages.hpp"
#include "sql/pg_lexer.hpp"
#include "sql/statement.hpp"

namespace uniqguard::proxy {

// One execution's parameters: the Bind and the types Parse declared (0: unspecified).
struct ParameterValues {
    const protocol::postgres::BindMessage& bind;
    const std::vector<std::uint32_t>& types;
};

// Where the text comes from, for reading it and for typing a binary parameter of unspecified
// type.
struct SubstitutionContext {
    // How the text's plain '...' strings read (the session's standard_conforming_strings): a
    // `$1` inside a string is not a parameter.
    bool standard_conforming_strings = true;
    // The text is the value of one column of this type (0: it is not).
    std::uint32_t whole_value_oid = 0;
    // The text is a condition on this table (`column = $n`), whose name or alias in the
    // statement is `qualifier` (unquoted, as the server folds it).
    const guard::GuardTable* table = nullptr;
    std::string_view qualifier;
    // The table as the statement names it (folded as the server folds it): a subquery's FROM
    // that names it so resolves to the same table. nullptr: no subquery's column is typed.
    const sql::QualifiedName* target_name = nullptr;
};

// `text` with every $n replaced by the parameter's value as SQL, parenthesised. nullopt when a
// parameter cannot be written (out of range, a value parameter_as_sql refuses, a binary value
// whose type the server infers from somewhere the proxy does not read).
std::optional<std::string> substitute_parameters(std::string_view text,
                                                 const ParameterValues& parameters,
                                                 const SubstitutionContext& context);

// The type the server gives the unspecified parameter at tokens[at] of `text`, by the rules
// above; nullopt when the proxy does not know it.
std::optional<std::uint32_t> inferred_parameter_type(std::string_view text,
                                                     const std::vector<sql::Token>& tokens,
                                                     std::size_t at,
                                                     const SubstitutionContext& context);

// A parameter of unspecified type used more than once gets one type from the server: the
// first use it analyses that fixes one (an UPDATE's WHERE before its SET, VALUES before
// RETURNING); every other use reads that type, cast. The proxy reads each use alone, so it only
// keeps such a parameter where every use gives the same type by the rules above (a cast, a bare
// VALUES value — `bare_values`: their offsets in `statement` and their columns' types — or
// `column = $n`, also in an UPDATE's SET list): `declared`, extended to every parameter the
// statement uses, with each such parameter's type in place of its 0; kNoCommonType for one
// whose typed uses disagree, or with a use the proxy cannot type that the server may type first
// (`UPDATE … SET code = $1 WHERE … $1 <> 0`: the WHERE is analysed first), which refuses its
// substitution and its reading; kPartlyTyped for one with bare items of INSERT … SELECT's
// select list (`SELECT $1 … WHERE NOT EXISTS (… k = $1)`, which the server assigns to their
// columns after the SELECT) whose other uses are all in that SELECT's WHERE … LIMIT (read after
// the items, before their assignment) and either agree on a type, or are one `column = $n` of
// any table's column, which must then type the parameter as the bare item's column: a text
// value is then written untyped at each use, typed by its place as the server typed it, a
// binary one is refused (parameter_type).
inline constexpr std::uint32_t kNoCommonType = 0xFFFFFFFF;
inline constexpr std::uint32_t kPartlyTyped = 0xFFFFFFFE;
std::vector<std::uint32_t> with_repeated_parameter_types(
    std::string_view statement, const std::vector<std::uint32_t>& declared,
    const std::vector<std::pair<std::size_t, std::uint32_t>>& bare_values,
    const SubstitutionContext& context);

// The type parameter `i` (0-based) of `types` (as with_repeated_parameter_types gives them) is
// read with, in a Bind that sends it in text or binary format.
inline std::uint32_t parameter_type(const std::vector<std::uint32_t>& types, std::size_t i,
                                    bool binary) {
    const std::uint32_t t = i < types.size() ? types[i] : 0;
    if (t == kPartlyTyped) return binary ? kNoCommonType : 0;
    return t;
}

}  // namespace uniqguard::proxy
