// MySQL / MariaDB statement analysis into the dialect-neutral model (statement.hpp), by our own
// lexer (mysql_lexer.hpp) and a small recursive reader of the statements the guard cares about:
// INSERT and REPLACE (VALUES / VALUE rows, INSERT ... SET, INSERT ... SELECT, IGNORE,
// ON DUPLICATE KEY UPDATE, RETURNING), UPDATE, DELETE, TRUNCATE, DROP TABLE, the transaction
// statements and SET of one session variable (sql_mode decides how later text is lexed).
// MariaDB's SET STATEMENT ... FOR <statement> and ANALYZE <statement> are read as the statement
// they run. Every other statement is an OtherStatement named after its first word
// ("select_stmt", "load_stmt"...).
//
// This is not the server's grammar. It reads what it needs and refuses what it does not
// understand in a statement the model covers: such an INSERT or UPDATE comes back as an
// OtherStatement whose `unsupported` says why, never as a guess. A syntax error the server would
// report elsewhere in a statement is not noticed.
//
// Values: literal strings hold the bytes the server reads (adjacent strings joined, 'a' 'b' is
// "ab"); hex and bit literals are literal_string with `form` hex / bit; introducers are in
// `charset_introducer`; `?` placeholders are parameters numbered 1.. in the order they appear in
// the whole string; anything else is an expression with a note.
//
// Thread safety: none needed; no state is shared.
#pragma once

#include <string_view>
#include <vector>

#include "sql/mysql_lexer.hpp"
#include "sql/parse_result.hpp"

namespace uniqguard::sql {

// Parses one COM_QUERY string (zero or more statements separated by `;`). All ranges in the
// result are byte offsets into `sql`. Statement ranges run from just after the previous `;` to
// just before the statement's own; empty statements (`;;`, a trailing comment) are left out. An
// unterminated string, quoted identifier or comment, or a malformed X'..' / b'..' literal
// anywhere is an error for the whole string (`cursor` is 0, `offset` where the construct starts).
ParseResult parse_mysql(std::string_view sql, const MySqlDialect& dialect = {});
// The same for a text already lexed without error under `dialect` (lex_mysql's `tokens`).
ParseResult parse_mysql(std::string_view sql, const MySqlDialect& dialect,
                        const std::vector<MySqlToken>& tokens);

}  // namespace uniqguard::sql
