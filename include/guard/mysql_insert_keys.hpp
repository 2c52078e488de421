// The keys of the rows of a MySQL/MariaDB INSERT or REPLACE (as the MySQL parser reads it:
// sql/mysql_parser.hpp) into a guarded table: each row's key parts, from its literals, keyed as
// the server stores them (MySqlKeyColumns::literal_key). A part the proxy cannot key (an
// expression, DEFAULT or a key column left out of the column list, a `?` of a text statement,
// a literal with a character set introducer other than those mysql_literal_of reads) is
// `cannot_normalize`: the server decides.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "guard/mysql_key_columns.hpp"
#include "sql/statement.hpp"

namespace uniqguard::guard {

using MySqlRowKey = std::vector<NormalizedValue>;  // in the guard's key column order

// `sql`: the text the statement was parsed from (a hex literal's spelling tells 0x41, a number
// in a numeric context, from X'41', a string of bytes). `table_columns`: the table's columns in
// order, for an INSERT without a column list. nullopt, with `why`, for an INSERT whose rows the
// proxy does not see (INSERT … SELECT, DEFAULT VALUES, a partial column). `params`: a prepared
// INSERT's parameters at one COM_STMT_EXECUTE, which give the `?` values (`?` number n is
// params[n - 1]; NULL as the NULL bitmap says; a value sent by COM_STMT_SEND_LONG_DATA is not
// read: cannot_normalize); empty for a text statement, whose `?` is cannot_normalize.
// `empty_string_is_null`: the session's sql_mode has EMPTY_STRING_IS_NULL, under which MariaDB
// may read an empty string parameter as NULL (it takes the mode when the parameter's types are
// bound, which may be an earlier execute): such a parameter is cannot_normalize.
std::optional<std::vector<MySqlRowKey>> mysql_insert_row_keys(
    const sql::InsertStatement& insert, std::string_view sql,
    const std::vector<std::string>& table_columns, const MySqlKeyColumns& keys,
    ClientCharset client, std::string& why,
    std::span<const protocol::mysql::ExecuteParam> params = {}, bool empty_string_is_null = false);

// How the server reads one parsed value, as a literal form (nullopt: not a literal the proxy
// keys). `session`: the session's character_set_client. A quoted string with an introducer
// (`_utf8mb4'é'`, `_utf8'é'`, N'é') is read when its bytes mean what they mean in the session's
// character set: the introducer names the session's own (utf8 and N'…' being utf8mb3), or the
// two are utf8mb4 and utf8mb3 and the string has no 4-byte character (the BMP is encoded alike).
// Then the key, the check the proxy writes with those bytes in the session, and the duplicate's
// message all read as without the introducer. Others (`_latin1`, `_binary`, an introducer
// before a hex or bit literal) are not read.
struct MySqlLiteralOf {
    MySqlLiteral form;
    std::string_view text;
};
std::optional<MySqlLiteralOf> mysql_literal_of(const sql::Value& value, std::string_view sql,
                                               ClientCharset session);

}  // namespace uniqguard::guard
