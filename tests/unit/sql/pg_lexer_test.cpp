// Our PostgreSQL lexer: token boundaries as the server draws them (checked against libpg_query's
// own scanner) and literal decoding as the server reads it.
#include "sql/pg_lexer.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "sql/postgres_parser.hpp"

using namespace uniqguard::sql;

namespace {

std::vector<std::string> texts(std::string_view sql, LexOptions o = {}) {
    std::vector<Token> tokens;
    lex_postgres(sql, tokens, o);
    std::vector<std::string> out;
    for (const Token& t : tokens) out.emplace_back(token_text(sql, t));
    return out;
}

TokenKind kind_of_only(std::string_view sql) {
    std::vector<Token> tokens;
    REQUIRE(lex_postgres(sql, tokens));
    REQUIRE(tokens.size() == 1);
    return tokens[0].kind;
}

std::string decoded(std::string_view literal, LexOptions o = {}) {
    std::vector<Token> tokens;
    REQUIRE(lex_postgres(literal, tokens, o));
    REQUIRE(tokens.size() == 1);
    auto v = decode_string_token(literal, tokens[0].kind, o);
    REQUIRE(v.has_value());
    return *v;
}

bool decodes(std::string_view literal) {
    std::vector<Token> tokens;
    lex_postgres(literal, tokens);
    if (tokens.size() != 1) return false;
    return decode_string_token(literal, tokens[0].kind).has_value();
}

}  // namespace

TEST_CASE("LexerSkipsWhitespaceAndNestedComments", "[sql]") {
    CHECK(texts("a /* x /* y */ z */ b -- c\n d") == std::vector<std::string>{"a", "b", "d"});
}

TEST_CASE("LexerOperatorRuleMatchesTheServer", "[sql]") {
    CHECK(texts("a=-1") == std::vector<std::string>{"a", "=", "-", "1"});
    CHECK(texts("a<>b") == std::vector<std::string>{"a", "<>", "b"});
    CHECK(texts("a @- b") == std::vector<std::string>{"a", "@-", "b"});
    CHECK(texts("x::int") == std::vector<std::string>{"x", "::", "int"});
    CHECK(texts("a+/*c*/b") == std::vector<std::string>{"a", "+", "b"});
    CHECK(texts("j->>'k'") == std::vector<std::string>{"j", "->>", "'k'"});
    CHECK(texts("f(a => 1)") == std::vector<std::string>{"f", "(", "a", "=>", "1", ")"});
}

TEST_CASE("LexerNumbersMatchTheServer", "[sql]") {
    CHECK(texts("1..2") == std::vector<std::string>{"1", "..", "2"});
    CHECK(texts("1.e5 .5 5. 1E+2") == std::vector<std::string>{"1.e5", ".5", "5.", "1E+2"});
    CHECK(texts("1+2") == std::vector<std::string>{"1", "+", "2"});
    CHECK(kind_of_only("42") == TokenKind::integer);
    CHECK(kind_of_only("4.2") == TokenKind::numeric);
}

TEST_CASE("LexerStringKinds", "[sql]") {
    CHECK(kind_of_only("'a'") == TokenKind::string);
    CHECK(kind_of_only("E'a'") == TokenKind::escape_string);
    CHECK(kind_of_only("U&'a'") == TokenKind::unicode_string);
    CHECK(kind_of_only("$$a$$") == TokenKind::dollar_string);
    CHECK(kind_of_only("$t$a$t$") == TokenKind::dollar_string);
    CHECK(kind_of_only("B'1'") == TokenKind::bit_string);
    CHECK(kind_of_only("x'1F'") == TokenKind::hex_string);
    CHECK(kind_of_only("\"Id\"") == TokenKind::quoted_identifier);
    CHECK(kind_of_only("U&\"d\\0061\"") == TokenKind::quoted_identifier);
    CHECK(kind_of_only("$12") == TokenKind::parameter);
    CHECK(texts("N'x'") == std::vector<std::string>{"N", "'x'"});
    CHECK(texts("a$b $1+a") == std::vector<std::string>{"a$b", "$1", "+", "a"});
}

TEST_CASE("LexerJoinsContinuedStringsOnlyAcrossANewline", "[sql]") {
    CHECK(texts("'a'\n'b'") == std::vector<std::string>{"'a'\n'b'"});
    CHECK(texts("'a' \t\n\n 'b'") == std::vector<std::string>{"'a' \t\n\n 'b'"});
    // The server allows a -- comment in between; libpg_query does not, and we follow it.
    CHECK(texts("'a' -- c\n 'b'") == std::vector<std::string>{"'a'", "'b'"});
    CHECK_FALSE(parse_postgres("select 'a' -- c\n 'b'"));
    CHECK(texts("'a' 'b'") == std::vector<std::string>{"'a'", "'b'"});
    CHECK(texts("'a' /* c */\n'b'") == std::vector<std::string>{"'a'", "'b'"});
}

TEST_CASE("LexerBackslashDependsOnStandardConformingStrings", "[sql]") {
    CHECK(texts(R"('a\' z')") == std::vector<std::string>{R"('a\')", "z", "'"});
    LexOptions off;
    off.standard_conforming_strings = false;
    CHECK(texts(R"('a\' b')", off) == std::vector<std::string>{R"('a\' b')"});
    CHECK(decoded(R"('a\' b')", off) == "a' b");
}

TEST_CASE("LexerRefusesNumbersGluedToWordsAsPostgres15Does", "[sql]") {
    for (const char* junk : {"select 123abc", "select 1e", "select 1e+", "select 1.e", "select $1a",
                             "select 0x1F", "select 1_000"}) {
        INFO(junk);
        std::vector<Token> tokens;
        CHECK_FALSE(lex_postgres(junk, tokens));
        REQUIRE(tokens.size() == 2);
        CHECK(tokens[1].kind == TokenKind::invalid);
        CHECK(tokens[1].offset == 7);
        CHECK_FALSE(parse_postgres(junk));
    }
}

TEST_CASE("LexerReportsUnterminatedInput", "[sql]") {
    std::vector<Token> tokens;
    CHECK_FALSE(lex_postgres("select 'abc", tokens));
    REQUIRE(tokens.size() == 2);
    CHECK(tokens[1].kind == TokenKind::invalid);
    CHECK(tokens[1].offset == 7);
    CHECK_FALSE(lex_postgres("select /* x", tokens));
    CHECK_FALSE(lex_postgres("select $a$ x", tokens));
    CHECK_FALSE(lex_postgres("select \"x", tokens));
}

TEST_CASE("DecodeStringLiterals", "[sql]") {
    CHECK(decoded("'it''s'") == "it's");
    CHECK(decoded("'a\\b'") == "a\\b");
    CHECK(decoded(R"(E'\b\f\n\r\t\\\'\q')") == "\b\f\n\r\t\\'q");
    CHECK(decoded(R"(E'\101\x42\u0043\U00000044')") == "ABCD");
    CHECK(decoded(R"(E'\xc3\xa9')") == "\xc3\xa9");
    CHECK(decoded(R"(E'\uD83D\uDE00')") == "\xF0\x9F\x98\x80");
    CHECK(decoded("U&'\\00e9\\+01F600\\\\'") == "\xc3\xa9\xF0\x9F\x98\x80\\");
    CHECK(decoded("U&'x#0041' UESCAPE '#'") == "xA");
    CHECK(decoded("$a$ $$ 'x' $a$") == " $$ 'x' ");
    CHECK(decoded("'a'\n 'b'") == "ab");
}

TEST_CASE("DecodeRefusesWhatTheServerRefuses", "[sql]") {
    CHECK_FALSE(decodes(R"(E'\0')"));           // zero byte
    CHECK_FALSE(decodes(R"(E'\xff')"));         // not UTF-8
    CHECK_FALSE(decodes(R"(E'\u12')"));         // short escape
    CHECK_FALSE(decodes(R"(E'\uD83D')"));       // lone surrogate
    CHECK_FALSE(decodes(R"(U&'\0000')"));       // code point 0
    CHECK_FALSE(decodes("U&'x' UESCAPE 'a'"));  // hex digit as escape
}

TEST_CASE("LexerBoundariesMatchLibpgQueryScanner", "[sql]") {
    const std::vector<std::string> corpus = {
        "INSERT INTO t (a, b) VALUES (1, 'x'), (-2.5e3, E'y\\'z') RETURNING *",
        "UPDATE \"T\" SET a = $1::int, b = b||'q' WHERE c <> 5 AND d >= .5",
        "select $$a$$, $tag$ b $tag$, x'1F', b'01', 1..2, a.b.c, arr[1:2], f(a => 1)",
        // (not U&"x": pg_query_scan reports the end of a UIDENT token one byte after its start)
        "select a/*x*/+/*y*/b -- trailing\n , 3 !=4, 1 @- 2, j->>'k', p #> '{a}', \"x\"\"y\"",
        "SELECT 'a'\n'b', 100000000000, 1., 1.e5, 1E+2, e'\\'', n'x'",
        "copy t from stdin with (format csv); begin; commit",
    };
    for (const std::string& sql : corpus) {
        INFO(sql);
        std::vector<Token> ours;
        REQUIRE(lex_postgres(sql, ours));
        const auto theirs = scan_postgres(sql);
        REQUIRE(theirs.has_value());
        std::vector<std::pair<std::size_t, std::size_t>> a, b;
        for (const Token& t : ours) a.emplace_back(t.offset, t.length);
        for (const ScanToken& t : *theirs) {
            if (t.cls != ScanClass::comment) b.emplace_back(t.offset, t.length);
        }
        CHECK(a == b);
    }
}
