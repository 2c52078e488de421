// The MySQL/MariaDB column types a guard key may use, recognised from information_schema.COLUMNS
// (the MySQL counterpart of column_type.hpp). Each kind has its key function:
// mysql_integer_key, mysql_decimal_key, mysql_string_key (with the collation's weights, read
// from the server: collation_weights.hpp). A key column of any other type is one "the proxy
// cannot compare" (SPEC §4): the guard is refused at start, with the reason.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "guard/mysql_decimal_key.hpp"
#include "guard/mysql_integer_key.hpp"

namespace uniqguard::guard {

// One row of information_schema.COLUMNS, the fields that matter (NULL → nullopt).
struct MySqlColumnInfo {
    std::string data_type;    // DATA_TYPE: "int", "varchar", "decimal", ...
    std::string column_type;  // COLUMN_TYPE: "int(10) unsigned", "varchar(20)", ...
    std::optional<std::string> character_set;        // CHARACTER_SET_NAME
    std::optional<std::string> collation;            // COLLATION_NAME
    std::optional<std::uint64_t> max_length;         // CHARACTER_MAXIMUM_LENGTH
    std::optional<std::uint64_t> octet_length;       // CHARACTER_OCTET_LENGTH
    std::optional<std::uint64_t> numeric_precision;  // NUMERIC_PRECISION
    std::optional<std::uint64_t> numeric_scale;      // NUMERIC_SCALE
    bool nullable = true;                            // IS_NULLABLE = \'YES\'
};

struct MySqlKeyColumnType {
    enum class Kind : std::uint8_t { integer, decimal, string };
    Kind kind = Kind::integer;
    MySqlIntegerColumn integer;
    MySqlDecimalColumn decimal;
    // string: the collation whose weights key it, its character set, and its limits (as
    // MySqlStringColumn wants them: characters, and for the TEXT types bytes too).
    std::string character_set;
    std::string collation;
    std::uint32_t max_chars = 0;
    std::uint32_t max_bytes = 0;
    bool fixed_length = false;
    // A NULL into a NOT NULL column is an error in strict mode and the column's implicit default
    // (0, '') otherwise: not a NULL key.
    bool nullable = true;
};

// nullopt, with `why` ("type datetime(3) cannot be compared by the proxy yet"), for a type the
// proxy does not key.
std::optional<MySqlKeyColumnType> mysql_key_column_type(const MySqlColumnInfo& info,
                                                        std::string& why);

}  // namespace uniqguard::guard
