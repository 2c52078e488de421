// Keys of MySQL/MariaDB integer, DECIMAL and string columns from a prepared statement's
// parameter (COM_STMT_EXECUTE, binary protocol: protocol/mysql/stmt_execute.hpp), as the server
// stores it (tests/integration/test_mysql_number_keys.py and test_mysql_collation_keys.py check
// them against MariaDB 10.11). Each binary type is read as the literal form the server treats it
// like:
//   TINY, SHORT, LONG, INT24, LONGLONG, YEAR (UNSIGNED or not)  an exact integer
//   DOUBLE                                                     an approximate number (its
//                                                              shortest decimal digits)
//   DECIMAL, NEWDECIMAL                                        an exact number (its text)
//   VARCHAR, VAR_STRING, STRING, the BLOBs                      a string
// FLOAT, temporal types, BIT, JSON, ENUM, SET, GEOMETRY and NULL-typed parameters are left to
// the server, as are a DOUBLE or DECIMAL into a string column (the server formats it).
#pragma once

#include <optional>
#include <string>

#include "guard/key_normalizer.hpp"
#include "guard/mysql_decimal_key.hpp"
#include "guard/mysql_integer_key.hpp"
#include "guard/mysql_string_key.hpp"
#include "protocol/mysql/stmt_execute.hpp"
#include "util/bytes.hpp"

namespace uniqguard::guard {

// The literal form and text the server reads a parameter as (the table above), or nullopt when
// the proxy does not follow its type.
struct MySqlParamLiteral {
    MySqlLiteral form;
    std::string text;
};
std::optional<MySqlParamLiteral> mysql_param_literal(protocol::mysql::ParamType type,
                                                     util::Bytes value);

NormalizedValue mysql_integer_param_key(const MySqlIntegerColumn& column,
                                        protocol::mysql::ParamType type, util::Bytes value);
NormalizedValue mysql_decimal_param_key(const MySqlDecimalColumn& column,
                                        protocol::mysql::ParamType type, util::Bytes value);
NormalizedValue mysql_string_param_key(const MySqlStringColumn& column,
                                       protocol::mysql::ParamType type, util::Bytes value,
                                       ClientCharset client);

}  // namespace uniqguard::guard
