#include "sql/pg_nonstandard_strings.hpp"

#include <catch2/catch.hpp>

#include "sql/postgres_parser.hpp"

using namespace uniqguard::sql;

TEST_CASE("plain strings with a backslash are masked to the same length") {
    const std::string sql = R"(INSERT INTO t VALUES ('it\'s', 'a\\b', 'plain', E'e\'s', 'x''y'))";
    const auto masked = mask_backslash_strings(sql);
    REQUIRE(masked);
    CHECK(*masked == R"(INSERT INTO t VALUES ('it__s', 'a__b', 'plain', E'e\'s', 'x''y'))");
    CHECK(masked->size() == sql.size());
    // libpg_query now reads five values where it read a syntax error.
    CHECK_FALSE(parse_postgres(sql));
    const auto parsed = parse_postgres(*masked);
    REQUIRE(parsed);
    REQUIRE(parsed.statements.size() == 1);
}

TEST_CASE("a string continued on the next line stays one string") {
    const std::string sql = "SELECT 'a\\'b'\n'c'";
    CHECK(mask_backslash_strings(sql) == std::optional<std::string>("SELECT 'a__b_\n_c'"));
}

TEST_CASE("nothing to mask") {
    CHECK(mask_backslash_strings("SELECT 'plain', E'\\n'") == std::nullopt);
    CHECK(mask_backslash_strings("SELECT 1") == std::nullopt);
    // An unterminated string is the server's syntax error: left as it is.
    CHECK(mask_backslash_strings("SELECT 'a\\'") == std::nullopt);
}
