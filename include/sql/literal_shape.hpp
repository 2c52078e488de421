// Statement shapes, for ORMs that inline their values (psycopg2, Django): `INSERT INTO t (a, b)
// VALUES (1, 'x')` and `... VALUES (2, 'y')` have one shape, so the analysis of the first can be
// re-used for the second by reading its literals again, in order, instead of parsing it.
//
// The key is the statement's tokens (pg_lexer.hpp) joined by one space, with whitespace and
// comments dropped, unquoted words folded to lower case, and every literal replaced by a
// placeholder naming its class: ?s string ('', E'', U&'', $$), ?b bit or hex string, ?i integer
// that fits int32, ?n any other number. The classes are the server's token classes (SCONST,
// BCONST, ICONST, FCONST), so two texts with one key go through the same grammar rules. Keywords
// stay: true, false, NULL and DEFAULT are part of the shape. A sign is a token of its own, so
// `-5` and `5` have different shapes.
//
// Usage:
//   auto shape = literal_shape(sql);
//   if (!shape.ok) -> parse, do not cache.
//   cached = cache.find(shape.key)
//   if (cached) if (auto stmts = rebind_literals(cached->statements, cached->shape, sql, shape))
//       -> use *stmts (values read from `sql`, every range moved to `sql`'s offsets)
//   otherwise parse_postgres(sql) and cache {statements, shape} under shape.key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sql/pg_lexer.hpp"
#include "sql/statement.hpp"

namespace uniqguard::sql {

struct LiteralToken {
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
    TokenKind kind = TokenKind::string;
    bool operator==(const LiteralToken&) const = default;
};

struct LiteralShape {
    std::string key;
    std::vector<LiteralToken> literals;  // in text order
    std::vector<Token> tokens;           // every token: to move ranges between two texts
    std::size_t source_size = 0;
    LexOptions options;  // literals are decoded under these
    // False when the lexer met an unterminated string, identifier or comment: parse, and do
    // not cache.
    bool ok = false;
};

LiteralShape literal_shape(std::string_view sql, LexOptions options = {});
// The same into an existing object, re-using its buffers.
void literal_shape(std::string_view sql, LiteralShape& out, LexOptions options = {});

// The tokens (indexes into LiteralShape::tokens) that one literal value spans: one string
// token, or a number token with the minus signs before it.
struct LiteralTokens {
    std::size_t first = 0;
    std::size_t last = 0;
};

// The tokens `range` (a Value's `literal`) covers exactly; nullopt when it does not start and
// end on token boundaries.
std::optional<LiteralTokens> literal_tokens(const LiteralShape& shape, SourceRange range);

// The value of a string or number literal at `at` in `sql` (whose shape is `shape`), into
// `out`, exactly as parse_postgres reads it into Value::text: a string decoded under the
// shape's options, an integer that fits int32 without leading zeros, any other number as
// written. False when it does not decode (the server would refuse it) or `kind` is neither.
bool read_literal(std::string_view sql, const LiteralShape& shape, ValueKind kind, LiteralTokens at,
                  std::string& out);

// The statements of `sql` from those parsed from another text of the same shape: values read
// from `sql`'s literals, ranges moved to `sql`'s offsets. The result equals what parse_postgres
// would return for `sql`. nullopt when the keys differ or the analysis holds literal-derived
// text this function does not re-read (COPY's options, a two-phase gid, type modifiers of a
// cast, EXPLAIN options) or a literal does not decode (the server would raise an error): parse.
std::optional<std::vector<Statement>> rebind_literals(const std::vector<Statement>& cached,
                                                      const LiteralShape& cached_shape,
                                                      std::string_view sql,
                                                      const LiteralShape& shape);

}  // namespace uniqguard::sql
