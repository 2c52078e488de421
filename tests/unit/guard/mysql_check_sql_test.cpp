// The MySQL guard's SQL text and error text (guard/mysql_check_sql.hpp). The duplicate messages
// are MariaDB 10.11's own, copied from the server's answers to the same keys on a real UNIQUE
// key (tests/integration/test_mysql_guard.py compares them live).
#include "guard/mysql_check_sql.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace uniqguard::guard;

namespace {
MySqlKeyColumnType integer_type(bool is_unsigned = false) {
    MySqlKeyColumnType t;
    t.kind = MySqlKeyColumnType::Kind::integer;
    t.integer = {8, is_unsigned};
    return t;
}
MySqlKeyColumnType decimal_type(std::uint8_t scale) {
    MySqlKeyColumnType t;
    t.kind = MySqlKeyColumnType::Kind::decimal;
    t.decimal = {10, scale, false};
    return t;
}
MySqlKeyColumnType string_type(bool fixed) {
    MySqlKeyColumnType t;
    t.kind = MySqlKeyColumnType::Kind::string;
    t.character_set = "utf8mb4";
    t.collation = "utf8mb4_general_ci";
    t.max_chars = 20;
    t.fixed_length = fixed;
    return t;
}
std::string int_bytes(std::uint64_t v) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i)
        s[static_cast<std::size_t>(i)] = static_cast<char>(v >> (56 - 8 * i));
    return s;
}
NormalizedValue ok(std::string bytes) { return {NormalizeStatus::ok, std::move(bytes)}; }
}  // namespace

TEST_CASE("Key parts show as the server stores them", "[mysql][guard_sql]") {
    CHECK(mysql_key_part_text(integer_type(), ok(int_bytes(7)), "7.2") == "7");
    CHECK(mysql_key_part_text(integer_type(), ok(int_bytes(static_cast<std::uint64_t>(-8))),
                              "-7.5") == "-8");
    CHECK(mysql_key_part_text(integer_type(true), ok(int_bytes(~0ULL)), "") ==
          "18446744073709551615");
    CHECK(mysql_key_part_text(decimal_type(2), ok("+150"), "1.5") == "1.50");
    CHECK(mysql_key_part_text(decimal_type(2), ok("-5"), "-0.05") == "-0.05");
    CHECK(mysql_key_part_text(decimal_type(2), ok("+"), "0") == "0.00");
    CHECK(mysql_key_part_text(decimal_type(0), ok("+12"), "12") == "12");
    CHECK(mysql_key_part_text(string_type(false), ok("w"), "X ") == "X ");
    CHECK(mysql_key_part_text(string_type(true), ok("w"), "ab  ") == "ab");
    CHECK_FALSE(mysql_key_part_text(integer_type(), {NormalizeStatus::cannot_normalize, {}}, "x"));
}

TEST_CASE("MariaDB's Duplicate entry text, cut as its %-.64T cuts", "[mysql][guard_sql]") {
    CHECK(mysql_duplicate_message({"2", "1"}, "enroll_uniq") ==
          "Duplicate entry '2-1' for key 'enroll_uniq'");
    CHECK(mysql_duplicate_message({"1", std::nullopt}, "k") ==
          "Duplicate entry '1-NULL' for key 'k'");
    CHECK(mysql_duplicate_message({"1", "it's"}, "k5") == "Duplicate entry '1-it's' for key 'k5'");
    CHECK(mysql_duplicate_message({std::string(100, 'a')}, "k") ==
          "Duplicate entry '" + std::string(61, 'a') + "...' for key 'k'");
    CHECK(mysql_duplicate_message({std::string(64, 'a')}, "k") ==
          "Duplicate entry '" + std::string(64, 'a') + "' for key 'k'");
    std::string e;
    for (int i = 0; i < 250; ++i) e += "\xC3\xA9";
    std::string thirty;
    for (int i = 0; i < 30; ++i) thirty += "\xC3\xA9";
    CHECK(mysql_duplicate_message({e}, "k") == "Duplicate entry '" + thirty + "...' for key 'k'");
    CHECK(mysql_duplicate_message({std::string(60, 'a') + "\xC3\xA9"}, "k") ==
          "Duplicate entry '" + std::string(60, 'a') + "\xC3\xA9' for key 'k'");
    CHECK(mysql_duplicate_message({std::string(40, 'a'), std::string(40, 'b')}, "k4") ==
          "Duplicate entry '" + std::string(40, 'a') + "-" + std::string(20, 'b') +
              "...' for key 'k4'");
}

TEST_CASE("The check asks for every suspected key in one row of one column", "[mysql][guard_sql]") {
    const MySqlKeyColumns columns(
        {{"user_id", integer_type(), nullptr}, {"na`me", string_type(false), nullptr}});
    const MySqlKeyText first{"2", "x'y"};
    const MySqlKeyText second{"3", std::nullopt};
    CHECK(mysql_key_condition(columns, first) ==
          "`user_id` = 2 AND `na``me` = CONVERT(_utf8mb4 X'782779' USING utf8mb4) COLLATE "
          "utf8mb4_general_ci");
    CHECK(mysql_exists_sql({{"app", "t", &columns, &first}, {"app", "t", &columns, &second}}) ==
          "SELECT CONCAT(EXISTS(SELECT 1 FROM `app`.`t` WHERE `user_id` = 2 AND `na``me` = "
          "CONVERT(_utf8mb4 X'782779' USING utf8mb4) COLLATE utf8mb4_general_ci), "
          "EXISTS(SELECT 1 FROM `app`.`t` WHERE `user_id` = 3 AND `na``me` IS NULL))");
    // With the session's isolation first: 'R' under REPEATABLE READ (MySQL 8's variable).
    CHECK(mysql_exists_sql({{"app", "t", &columns, &second}}, "@@transaction_isolation") ==
          "SELECT CONCAT(IF(@@transaction_isolation = 'REPEATABLE-READ', 'R', 'C'), "
          "EXISTS(SELECT 1 FROM `app`.`t` WHERE `user_id` = 3 AND `na``me` IS NULL))");
}

TEST_CASE("A SIGNAL carries the error, its text in hex", "[mysql][guard_sql]") {
    CHECK(mysql_signal_sql(1062, "23000", "Duplicate entry '2' for key 'k'") ==
          "SIGNAL SQLSTATE '23000' SET MYSQL_ERRNO = 1062, MESSAGE_TEXT = _utf8mb4 "
          "X'4475706C696361746520656E7472792027322720666F72206B657920276B27'");
    CHECK(mysql_signal_sql(1235, "42000", "") ==
          "SIGNAL SQLSTATE '42000' SET MYSQL_ERRNO = 1235, MESSAGE_TEXT = _utf8mb4 X''");
}
