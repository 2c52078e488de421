#include "sql/pg_nonstandard_strings.hpp"

#include <catch2/catch.hpp>

#include "sql/pg_lexer.hpp"
#include "sql/postgres_parser.hpp"

using namespace uniqguard::sql;

TEST_CASE("plain strings with a backslash become escape strings") {
    const std::string sql = R"(INSERT INTO t VALUES ('it\'s', 'a\\b', 'plain', E'e\'s', 'x''y'))";
    const auto prefixed = with_escape_string_prefixes(sql);
    REQUIRE(prefixed);
    CHECK(*prefixed == R"(INSERT INTO t VALUES (E'it\'s', E'a\\b', 'plain', E'e\'s', 'x''y'))");
    // libpg_query reads five values where it read a syntax error, and the same values the
    // server reads in the client's text under standard_conforming_strings off.
    CHECK_FALSE(parse_postgres(sql));
    REQUIRE(parse_postgres(*prefixed));
    std::vector<Token> client, ours;
    lex_postgres(sql, client, {.standard_conforming_strings = false});
    lex_postgres(*prefixed, ours);
    REQUIRE(client.size() == ours.size());
    for (std::size_t i = 0; i < client.size(); ++i) {
        if (!is_string_kind(client[i].kind)) continue;
        CHECK(decode_string_token(token_text(sql, client[i]), client[i].kind,
                                  {.standard_conforming_strings = false}) ==
              decode_string_token(token_text(*prefixed, ours[i]), ours[i].kind));
    }
}

TEST_CASE("a string continued on the next line takes one prefix") {
    const std::string sql = "SELECT 'a\\'b'\n'c', 1";
    CHECK(with_escape_string_prefixes(sql) ==
          std::optional<std::string>("SELECT E'a\\'b'\n'c', 1"));
}

TEST_CASE("nothing to prefix") {
    CHECK(with_escape_string_prefixes("SELECT 'plain', E'\\n'") == std::nullopt);
    CHECK(with_escape_string_prefixes("SELECT 1") == std::nullopt);
    // An unterminated string is the server's syntax error: left as it is.
    CHECK(with_escape_string_prefixes("SELECT 'a\\'") == std::nullopt);
}
