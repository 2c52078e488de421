// A prepared statement's parameters written as SQL for the proxy's own statements
// (guard/mysql_param_sql.hpp): every binary type the writer takes, the ones it leaves, and `?`
// replaced in part of a statement's text.
#include "guard/mysql_param_sql.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

using namespace uniqguard;
using namespace uniqguard::guard;
namespace my = uniqguard::protocol::mysql;
namespace t = uniqguard::protocol::mysql::field_type;

namespace {

// A parameter of `type` whose binary value is `bytes` (kept alive by the caller's string).
my::ExecuteParam param(std::uint8_t type, const std::string& bytes, bool is_unsigned = false) {
    my::ExecuteParam p;
    p.type = {type, is_unsigned};
    p.value = util::as_bytes(bytes);
    return p;
}

std::optional<std::string> sql_of(std::uint8_t type, const std::string& bytes,
                                  bool is_unsigned = false, bool no_backslash_escapes = false) {
    return mysql_param_sql(param(type, bytes, is_unsigned), no_backslash_escapes);
}

std::string le(std::uint64_t v, int width) {
    std::string out;
    for (int i = 0; i < width; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
    return out;
}

}  // namespace

TEST_CASE("IntegersAreTheirDigitsSignedOrNot", "[mysql][param_sql]") {
    CHECK(sql_of(t::tiny, le(0xFF, 1)) == "-1");
    CHECK(sql_of(t::tiny, le(0xFF, 1), true) == "255");
    CHECK(sql_of(t::short_, le(0x8000, 2)) == "-32768");
    CHECK(sql_of(t::year, le(2024, 2)) == "2024");
    CHECK(sql_of(t::long_, le(0xFFFFFFFE, 4)) == "-2");
    CHECK(sql_of(t::int24, le(70000, 4)) == "70000");
    CHECK(sql_of(t::longlong, le(~0ull, 8), true) == "18446744073709551615");
    CHECK(sql_of(t::longlong, le(1ull << 63, 8)) == "-9223372036854775808");
    CHECK_FALSE(sql_of(t::long_, le(1, 8)));  // the wrong width
}

TEST_CASE("ApproximateAndExactNumbersKeepTheirValue", "[mysql][param_sql]") {
    const auto bits = [](double d) {
        std::uint64_t u;
        std::memcpy(&u, &d, 8);
        return le(u, 8);
    };
    CHECK(sql_of(t::double_, bits(0.1)) == "0.1e0");
    CHECK(sql_of(t::double_, bits(-2.5e-7)) == "-2.5e-07");
    CHECK(sql_of(t::double_, bits(3)) == "3e0");
    const float f = 0.1f;
    std::uint32_t fu;
    std::memcpy(&fu, &f, 4);
    CHECK(sql_of(t::float_, le(fu, 4)) == "0.10000000149011612e0");  // the float, widened
    CHECK(sql_of(t::newdecimal, "-12.50") == "-12.50");
    CHECK(sql_of(t::decimal, "7") == "7");
    CHECK_FALSE(sql_of(t::newdecimal, "1e5"));
    CHECK_FALSE(sql_of(t::newdecimal, "1.2.3"));
    CHECK_FALSE(sql_of(t::newdecimal, "-"));
    CHECK_FALSE(sql_of(t::newdecimal, "1; DROP TABLE t"));
}

TEST_CASE("StringsAreQuotedLiteralsOfTheirBytes", "[mysql][param_sql]") {
    // Read back in the connection's character set and collation, as the parameter is; invalid
    // UTF-8 kept as it is.
    CHECK(sql_of(t::var_string, "it's \\") == "'it''s \\\\'");
    CHECK(sql_of(t::var_string, "it's \\", false, true) == "'it''s \\'");
    CHECK(sql_of(t::varchar, std::string("\xC3\xA9\xFF\x00z", 5)) ==
          std::string("'\xC3\xA9\xFF\\0z'", 8));
    CHECK(sql_of(t::varchar, std::string("a\x00", 2), false, true) == std::string("'a\x00'", 4));
    CHECK(sql_of(t::string, "") == "''");
    CHECK(sql_of(t::blob, std::string("\x00\xFF", 2)) == "_binary X'00FF'");
}

TEST_CASE("DatesAndTimestampsAreTypedLiterals", "[mysql][param_sql]") {
    CHECK(sql_of(t::date, le(2024, 2) + "\x02\x1D") == "DATE'2024-02-29'");
    // The fraction only when it is not zero, as the server shows the parameter.
    CHECK(sql_of(t::datetime, le(1999, 2) + "\x0C\x1F\x17\x3B\x3B") ==
          "TIMESTAMP'1999-12-31 23:59:59'");
    CHECK(sql_of(t::datetime, le(1999, 2) + "\x0C\x1F\x17\x3B\x3B" + le(0, 4)) ==
          "TIMESTAMP'1999-12-31 23:59:59'");
    CHECK(sql_of(t::timestamp, le(2000, 2) + std::string("\x01\x01\x00\x00\x01", 5) +
                                   le(123456, 4)) == "TIMESTAMP'2000-01-01 00:00:01.123456'");
    CHECK_FALSE(sql_of(t::datetime, ""));                    // the zero date
    CHECK_FALSE(sql_of(t::date, le(2024, 2) + "\x0D\x01"));  // month 13
    CHECK_FALSE(sql_of(t::date, le(2024, 2) + "\x02\x1E"));  // 30 February
    CHECK_FALSE(sql_of(t::date, le(2023, 2) + "\x02\x1D"));  // 29 February, not a leap year
    CHECK(sql_of(t::date, le(2000, 2) + "\x02\x1D") == "DATE'2000-02-29'");
    CHECK_FALSE(sql_of(t::date, le(1900, 2) + "\x02\x1D"));
    CHECK_FALSE(sql_of(t::time, std::string(8, '\0')));
    CHECK_FALSE(sql_of(t::bit, "\x01"));
    CHECK_FALSE(sql_of(t::json, "{}"));
}

TEST_CASE("NullAndLongData", "[mysql][param_sql]") {
    auto p = param(t::var_string, "");
    p.is_null = true;
    CHECK(mysql_param_sql(p, false) == "NULL");
    const std::string kept = "ab";
    p = param(t::var_string, kept);
    p.is_null = true;  // not read for long data
    p.long_data = true;
    CHECK_FALSE(mysql_param_sql(p, false));
    p.long_data_kept = true;
    CHECK(mysql_param_sql(p, false) == "'ab'");
}

TEST_CASE("QuestionMarksInARangeAreWrittenAsTheirParameters", "[mysql][param_sql]") {
    const std::string sql = "UPDATE t SET a = ? WHERE b = ? AND c IN (?, '?') -- ?\n AND d=?";
    std::vector<sql::MySqlToken> tokens;
    REQUIRE_FALSE(sql::lex_mysql(sql, {}, tokens));
    const std::string one = le(1, 8), minus = le(static_cast<std::uint64_t>(-5), 8), s = "x";
    std::vector<my::ExecuteParam> params = {param(t::longlong, one), param(t::longlong, minus),
                                            param(t::var_string, s), param(t::longlong, one)};
    const auto where = sql.find("b = ");
    // A space on each side: `d=?` next to a word or a symbol reads as one value.
    CHECK(mysql_text_with_params(sql, tokens, where, sql.size(), params, false) ==
          "b =  (-5)  AND c IN ( 'x' , '?') -- ?\n AND d= 1 ");
    // A parameter missing, or one that cannot be written.
    params.pop_back();
    CHECK_FALSE(mysql_text_with_params(sql, tokens, where, sql.size(), params, false));
    params.push_back(param(t::json, s));
    CHECK_FALSE(mysql_text_with_params(sql, tokens, where, sql.size(), params, false));
    // Parameter 1 (in SET, before `where`) is in this range: missing, nothing written.
    CHECK(mysql_text_with_params(sql, tokens, 0, where, {}, false) == std::nullopt);
}
