// MySQL/MariaDB key column types from information_schema.COLUMNS (guard/mysql_column_type.hpp).
// The rows are MariaDB 10.11.19's own, for
//   CREATE TABLE tc (a TINYINT, b SMALLINT UNSIGNED, c MEDIUMINT, d INT(11),
//     e BIGINT UNSIGNED ZEROFILL, f DECIMAL(6,2), g NUMERIC(10), h VARCHAR(20) COLLATE
//     utf8mb4_bin, i CHAR(3) CHARACTER SET latin1, j TEXT, k TINYTEXT, l BINARY(4),
//     m VARBINARY(8), n DATE, o DATETIME(3), p ENUM('x','y'), q BOOL, r BIT(3), s FLOAT,
//     t YEAR, u JSON, v MEDIUMTEXT CHARACTER SET utf8mb3)
// on a latin1 server.
#include "guard/mysql_column_type.hpp"

#include <catch2/catch.hpp>

using namespace uniqguard::guard;
using Kind = MySqlKeyColumnType::Kind;

namespace {
MySqlColumnInfo number(const char* data_type, const char* column_type, std::uint64_t precision,
                       std::optional<std::uint64_t> scale) {
    return {data_type,    column_type,  std::nullopt, std::nullopt,
            std::nullopt, std::nullopt, precision,    scale};
}
MySqlColumnInfo string(const char* data_type, const char* column_type, const char* charset,
                       const char* collation, std::uint64_t length, std::uint64_t octets) {
    return {data_type, column_type, charset, collation, length, octets, std::nullopt, std::nullopt};
}
}  // namespace

TEST_CASE("Integer and DECIMAL columns", "[mysql][catalog]") {
    std::string why;
    auto t = mysql_key_column_type(number("tinyint", "tinyint(4)", 3, 0), why);
    REQUIRE(t);
    CHECK(t->kind == Kind::integer);
    CHECK(t->integer.bytes == 1);
    CHECK_FALSE(t->integer.is_unsigned);
    t = mysql_key_column_type(number("smallint", "smallint(5) unsigned", 5, 0), why);
    CHECK((t && t->integer.bytes == 2 && t->integer.is_unsigned));
    t = mysql_key_column_type(number("mediumint", "mediumint(9)", 7, 0), why);
    CHECK((t && t->integer.bytes == 3));
    t = mysql_key_column_type(number("bigint", "bigint(20) unsigned zerofill", 20, 0), why);
    CHECK((t && t->integer.bytes == 8 && t->integer.is_unsigned));
    t = mysql_key_column_type(number("tinyint", "tinyint(1)", 3, 0), why);  // BOOL
    CHECK((t && t->integer.bytes == 1));
    t = mysql_key_column_type(number("decimal", "decimal(6,2)", 6, 2), why);
    REQUIRE(t);
    CHECK(t->kind == Kind::decimal);
    CHECK((t->decimal.precision == 6 && t->decimal.scale == 2 && !t->decimal.is_unsigned));
    t = mysql_key_column_type(number("decimal", "decimal(10,0)", 10, 0), why);
    CHECK((t && t->decimal.precision == 10 && t->decimal.scale == 0));
}

TEST_CASE("String columns: collation and limits", "[mysql][catalog]") {
    std::string why;
    auto t = mysql_key_column_type(
        string("varchar", "varchar(20)", "utf8mb4", "utf8mb4_bin", 20, 80), why);
    REQUIRE(t);
    CHECK(t->kind == Kind::string);
    CHECK(t->collation == "utf8mb4_bin");
    CHECK((t->max_chars == 20 && t->max_bytes == 0 && !t->fixed_length));
    t = mysql_key_column_type(string("char", "char(3)", "latin1", "latin1_swedish_ci", 3, 3), why);
    CHECK((t && t->fixed_length && t->max_chars == 3 && t->character_set == "latin1"));
    t = mysql_key_column_type(string("text", "text", "latin1", "latin1_swedish_ci", 65535, 65535),
                              why);
    CHECK((t && t->max_bytes == 65535 && t->max_chars == 65535));
    t = mysql_key_column_type(
        string("tinytext", "tinytext", "latin1", "latin1_swedish_ci", 255, 255), why);
    CHECK((t && t->max_bytes == 255));
    t = mysql_key_column_type(
        string("mediumtext", "mediumtext", "utf8mb3", "utf8mb3_general_ci", 16777215, 16777215),
        why);
    CHECK((t && t->max_bytes == 16777215));
}

TEST_CASE("Types the proxy does not key yet are refused with the reason", "[mysql][catalog]") {
    std::string why;
    const MySqlColumnInfo binary{"binary", "binary(4)", std::nullopt, std::nullopt,
                                 4,        4,           std::nullopt, std::nullopt};
    CHECK_FALSE(mysql_key_column_type(binary, why));
    CHECK(why == "type binary(4) cannot be compared by the proxy yet");
    const MySqlColumnInfo datetime{"datetime",   "datetime(3)", std::nullopt, std::nullopt,
                                   std::nullopt, std::nullopt,  std::nullopt, std::nullopt};
    CHECK_FALSE(mysql_key_column_type(datetime, why));
    CHECK(why == "type datetime(3) cannot be compared by the proxy yet");
    for (const char* type : {"date", "enum", "bit", "float", "year", "varbinary"}) {
        const MySqlColumnInfo other{type,         type,         std::nullopt, std::nullopt,
                                    std::nullopt, std::nullopt, std::nullopt, std::nullopt};
        CHECK_FALSE(mysql_key_column_type(other, why));
    }
    // JSON is LONGTEXT with utf8mb4_bin on MariaDB: its text is compared as a string.
    CHECK(mysql_key_column_type(
        string("longtext", "longtext", "utf8mb4", "utf8mb4_bin", 4294967295, 4294967295), why));
}
