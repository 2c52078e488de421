// A prepared statement's parameter (COM_STMT_EXECUTE, binary protocol) written as SQL text that
// the server reads as the same value, for the proxy's own statements that repeat part of the
// client's (the check of a prepared UPDATE evaluates its WHERE with the execute's values):
//   NULL                                        NULL
//   TINY, SHORT, LONG, INT24, LONGLONG, YEAR    the integer's digits (UNSIGNED or not)
//   DOUBLE, FLOAT                               the shortest digits that read back as the same
//                                               double, with an exponent (a DOUBLE literal)
//   DECIMAL, NEWDECIMAL                         its digits (an exact literal), when they are one
//   VARCHAR, VAR_STRING, STRING                 _utf8mb4 X'…' / _utf8mb3 X'…': the bytes in the
//                                               session's character set (coercible, as the
//                                               parameter; a column compared with it decides)
//   the BLOBs                                   _binary X'…'
//   DATE, DATETIME, TIMESTAMP                   DATE'…' / TIMESTAMP'…' (fraction kept)
// nullopt for the rest (TIME, zero dates, BIT, JSON, ENUM, SET, GEOMETRY, a string parameter in
// a character set other than utf8mb4 / utf8mb3, a malformed value): not written.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "guard/mysql_string_key.hpp"
#include "protocol/mysql/stmt_execute.hpp"
#include "sql/mysql_lexer.hpp"

namespace uniqguard::guard {

std::optional<std::string> mysql_param_sql(const protocol::mysql::ExecuteParam& param,
                                           ClientCharset client);

// The text of `sql` from byte `from` to byte `to`, every `?` in it written as its parameter
// (`tokens`: the lexer's tokens of the whole `sql`; `?` number n, counted over all of them, is
// params[n - 1]); a negative number in parentheses, so that no `-` before it makes a comment
// or a double minus. nullopt when a parameter is missing or cannot be written.
std::optional<std::string> mysql_text_with_params(
    std::string_view sql, const std::vector<sql::MySqlToken>& tokens, std::size_t from,
    std::size_t to, std::span<const protocol::mysql::ExecuteParam> params, ClientCharset client);

}  // namespace uniqguard::guard
