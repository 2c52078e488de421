// A prepared statement's parameter (COM_STMT_EXECUTE, binary protocol) written as SQL text that
// the server reads as the same value, for the proxy's own statements that repeat part of the
// client's (the check of a prepared UPDATE evaluates its WHERE with the execute's values):
//   NULL                                        NULL
//   TINY, SHORT, LONG, INT24, LONGLONG, YEAR    the integer's digits (UNSIGNED or not)
//   DOUBLE, FLOAT                               the shortest digits that read back as the same
//                                               double, with an exponent (a DOUBLE literal)
//   DECIMAL, NEWDECIMAL                         its digits (an exact literal), when they are one
//   VARCHAR, VAR_STRING, STRING                 a quoted literal of its bytes: read, as the
//                                               parameter is, in the connection's character set
//                                               and collation, coercible, NULL when empty under
//                                               EMPTY_STRING_IS_NULL, invalid bytes kept (the
//                                               caller makes sure the session's character set is
//                                               one whose multibyte characters hold no quote or
//                                               backslash byte)
//   the BLOBs                                   _binary X'…'
//   DATE, DATETIME, TIMESTAMP                   DATE'…' / TIMESTAMP'…', the fraction only when it
//                                               is not zero (as the server shows the parameter)
// nullopt for the rest (TIME, zero or impossible dates, BIT, JSON, ENUM, SET, GEOMETRY, a
// malformed value): not written. `no_backslash_escapes`: the session's sql_mode, which decides
// how a quote and a backslash are escaped.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/mysql/stmt_execute.hpp"
#include "sql/mysql_lexer.hpp"

namespace uniqguard::guard {

std::optional<std::string> mysql_param_sql(const protocol::mysql::ExecuteParam& param,
                                           bool no_backslash_escapes);

// The text of `sql` from byte `from` to byte `to`, every `?` in it written as its parameter
// (`tokens`: the lexer's tokens of the whole `sql`; `?` number n, counted over all of them, is
// params[n - 1]), with a space on each side (`LIKE?` is `LIKE 'x' `) and a negative number in
// parentheses, so that no `-` before it makes a comment or a double minus (unless
// `parenthesize_negatives` is false: a statement whose values the INSERT key reader reads, where
// `(-5)` is an expression; the spaces alone keep `- -5` from being `--`). nullopt when a
// parameter is missing or cannot be written.
std::optional<std::string> mysql_text_with_params(
    std::string_view sql, const std::vector<sql::MySqlToken>& tokens, std::size_t from,
    std::size_t to, std::span<const protocol::mysql::ExecuteParam> params,
    bool no_backslash_escapes, bool parenthesize_negatives = true);

}  // namespace uniqguard::guard
