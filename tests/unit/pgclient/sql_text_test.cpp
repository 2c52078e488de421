#include "pgclient/sql_text.hpp"

#include <catch2/catch.hpp>

using namespace uniqguard::pgclient;

TEST_CASE("IdentifiersAreAlwaysQuotedWithQuotesDoubled", "[pgclient]") {
    CHECK(quote_identifier("courses_enroll") == "\"courses_enroll\"");
    CHECK(quote_identifier("User") == "\"User\"");
    CHECK(quote_identifier("a\"b") == "\"a\"\"b\"");
    CHECK(quote_identifier("x\"; DROP TABLE t; --") == "\"x\"\"; DROP TABLE t; --\"");
    CHECK(quote_qualified("public", "t") == "\"public\".\"t\"");
    CHECK(quote_qualified("", "t") == "\"t\"");
}

TEST_CASE("LikePatternEscapesWildcards", "[pgclient]") {
    CHECK(like_contains_pattern("courses_enroll") == "%courses\\_enroll%");
    CHECK(like_contains_pattern("a%b\\c") == "%a\\%b\\\\c%");
}

TEST_CASE("WordRegexEscapesMetacharacters", "[pgclient]") {
    CHECK(identifier_word_regex("t") == "(^|[^[:alnum:]_$])t($|[^[:alnum:]_$])");
    CHECK(identifier_word_regex("a.b(c)$") ==
          "(^|[^[:alnum:]_$])a\\.b\\(c\\)\\$($|[^[:alnum:]_$])");
}

TEST_CASE("CatalogIntegerListsAreParsed", "[pgclient]") {
    using V = std::vector<int>;
    CHECK(parse_int_vector("1 3 2") == std::optional(V{1, 3, 2}));
    CHECK(parse_int_vector("0") == std::optional(V{0}));
    CHECK(parse_int_vector("") == std::optional(V{}));
    CHECK_FALSE(parse_int_vector("1  2"));
    CHECK(parse_int_array("{4,1}") == std::optional(V{4, 1}));
    CHECK(parse_int_array("{}") == std::optional(V{}));
    CHECK_FALSE(parse_int_array("{1,}"));
    CHECK_FALSE(parse_int_array("1,2"));
}
