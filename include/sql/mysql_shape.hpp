// MySQL statement shapes, for clients that inline their values (PyMySQL, mysqlclient, Django,
// sysbench's text mode): `INSERT INTO t (a, b) VALUES (1, 'x')` and `… VALUES (2, 'y')` have
// one shape, so what the full analysis of the first found can be re-used for the second by
// reading its literals from the tokens, without parsing it (proxy/mysql_insert_shape.hpp).
//
// The key is the caller's context (what else decides how the text reads: the dialect, the
// character set, the current database) followed by every token's kind and, for every token but
// a literal, its text as written. Literals (strings, N'', hex and bit literals, numbers) keep
// only their kind, so two texts with one key lex into the same token kinds, in one order, and
// differ only in their literals' contents. The MySQL parser (mysql_parser.hpp) reads a
// statement's structure from token kinds and the words and symbols it meets; a literal's
// contents only make the value it holds (and, under EMPTY_STRING_IS_NULL, an empty string
// NULL: the caller looks at those). Whitespace and comments are not in the key; the tokens of
// an executable comment the server reads are.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sql/mysql_lexer.hpp"

namespace uniqguard::sql {

struct MySqlShape {
    std::vector<MySqlToken> tokens;  // of the text, as lex_mysql gives them
    std::string key;
    bool ok = false;  // false: the text does not lex (the parser reports the error)
};

// True for the token kinds the key keeps without their text.
bool is_mysql_literal_kind(MySqlTokenKind kind);

// The shape of `sql` into `out` (its buffers re-used).
void mysql_shape(std::string_view sql, const MySqlDialect& dialect, std::string_view context,
                 MySqlShape& out);

}  // namespace uniqguard::sql
