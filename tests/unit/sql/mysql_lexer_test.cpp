// Our MySQL / MariaDB lexer: token boundaries as the server's lex_one_token draws them, comments
// and executable comments by server version, sql_mode, and literal bytes as the server reads
// them (tests/integration/test_mysql_literals.py checks the same against MariaDB itself).
#include "sql/mysql_lexer.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace uniqguard::sql;
using K = MySqlTokenKind;

namespace {

std::vector<std::string> texts(std::string_view sql, const MySqlDialect& d = {}) {
    std::vector<MySqlToken> tokens;
    const auto error = lex_mysql(sql, d, tokens);
    INFO(sql);
    REQUIRE_FALSE(error.has_value());
    std::vector<std::string> out;
    for (const MySqlToken& t : tokens) out.emplace_back(token_text(sql, t));
    return out;
}

K kind_of_only(std::string_view sql, const MySqlDialect& d = {}) {
    std::vector<MySqlToken> tokens;
    INFO(sql);
    REQUIRE_FALSE(lex_mysql(sql, d, tokens).has_value());
    REQUIRE(tokens.size() == 1);
    REQUIRE(tokens[0].length == sql.size());
    return tokens[0].kind;
}

std::string decoded(std::string_view literal, const MySqlDialect& d = {}) {
    std::vector<MySqlToken> tokens;
    INFO(literal);
    REQUIRE_FALSE(lex_mysql(literal, d, tokens).has_value());
    REQUIRE(tokens.size() == 1);
    auto v = decode_mysql_literal(literal, tokens[0].kind, d);
    REQUIRE(v.has_value());
    return *v;
}

MySqlLexError error_of(std::string_view sql, const MySqlDialect& d = {}) {
    std::vector<MySqlToken> tokens;
    const auto error = lex_mysql(sql, d, tokens);
    INFO(sql);
    REQUIRE(error.has_value());
    return *error;
}

using Texts = std::vector<std::string>;

MySqlDialect no_backslash() {
    MySqlDialect d;
    d.no_backslash_escapes = true;
    return d;
}

MySqlDialect ansi() {
    MySqlDialect d;
    d.ansi_quotes = true;
    return d;
}

MySqlDialect mysql8() {
    MySqlDialect d;
    d.mariadb = false;
    d.server_version = 80036;
    return d;
}

}  // namespace

TEST_CASE("MySqlLexerTokenKinds", "[sql][mysql_parser]") {
    CHECK(kind_of_only("abc") == K::identifier);
    CHECK(kind_of_only("a$b_1") == K::identifier);
    CHECK(kind_of_only("1abc") == K::identifier);  // digits then letters: a name
    CHECK(kind_of_only("1e") == K::identifier);
    CHECK(kind_of_only("0x1g") == K::identifier);
    CHECK(kind_of_only("0X41") == K::identifier);  // only a lower-case x makes 0x hex
    CHECK(kind_of_only("0b12") == K::identifier);
    CHECK(kind_of_only("0x") == K::identifier);
    CHECK(kind_of_only("`a``b`") == K::quoted_identifier);
    CHECK(kind_of_only("\"a\"") == K::string);
    CHECK(kind_of_only("\"a\"", ansi()) == K::quoted_identifier);
    CHECK(kind_of_only("'a'") == K::string);
    CHECK(kind_of_only("N'a'") == K::national_string);
    CHECK(kind_of_only("n'a'") == K::national_string);
    CHECK(kind_of_only("X'41'") == K::hex_string);
    CHECK(kind_of_only("x''") == K::hex_string);
    CHECK(kind_of_only("0x41") == K::hex_number);
    CHECK(kind_of_only("b'101'") == K::bit_string);
    CHECK(kind_of_only("B''") == K::bit_string);
    CHECK(kind_of_only("0b101") == K::bit_number);
    CHECK(kind_of_only("_utf8mb4") == K::charset_introducer);
    CHECK(kind_of_only("_BINARY") == K::charset_introducer);
    CHECK(kind_of_only("_latin1") == K::charset_introducer);
    CHECK(kind_of_only("_nosuchcharset") == K::identifier);
    CHECK(kind_of_only("42") == K::integer);
    CHECK(kind_of_only("1.5") == K::decimal);
    CHECK(kind_of_only(".5") == K::decimal);
    CHECK(kind_of_only("1.") == K::decimal);
    CHECK(kind_of_only("1e3") == K::float_);
    CHECK(kind_of_only("1.5E-3") == K::float_);
    CHECK(kind_of_only("1e+3") == K::float_);
    CHECK(kind_of_only("?") == K::parameter);
    CHECK(kind_of_only("@v") == K::variable);
    CHECK(kind_of_only("@'v x'") == K::variable);
    CHECK(kind_of_only("@`v`") == K::variable);
    CHECK(kind_of_only("@@session.sql_mode") == K::variable);
    CHECK(kind_of_only("\\N") == K::null_escape);
    CHECK(kind_of_only("<=>") == K::operator_);
    CHECK(kind_of_only("->>") == K::operator_);
    CHECK(kind_of_only(":=") == K::operator_);
    CHECK(kind_of_only(";") == K::punctuation);
}

TEST_CASE("MySqlLexerBoundariesMatchTheServer", "[sql][mysql_parser]") {
    CHECK(texts("a.b") == Texts{"a", ".", "b"});
    CHECK(texts("a<=b<>c!=d") == Texts{"a", "<=", "b", "<>", "c", "!=", "d"});
    CHECK(texts("x=-1") == Texts{"x", "=", "-", "1"});
    CHECK(texts("1..2") == Texts{"1", "..", "2"});
    CHECK(texts("f(a,b)") == Texts{"f", "(", "a", ",", "b", ")"});
    CHECK(texts("_utf8mb4'x'") == Texts{"_utf8mb4", "'x'"});
    CHECK(texts("_utf8mb4 'x'") == Texts{"_utf8mb4", "'x'"});
    CHECK(texts("N 'x'") == Texts{"N", "'x'"});  // N'x' only when the quote follows at once
    CHECK(texts("X\"41\"") == Texts{"X", "\"41\""});
    CHECK(texts("'a' 'b'") == Texts{"'a'", "'b'"});
    CHECK(texts("1.5e") == Texts{"1.5", "e"});
}

TEST_CASE("MySqlLexerComments", "[sql][mysql_parser]") {
    CHECK(texts("a # c\nb") == Texts{"a", "b"});
    CHECK(texts("a -- c\nb") == Texts{"a", "b"});
    CHECK(texts("a --\tc\nb") == Texts{"a", "b"});
    CHECK(texts("a --") == Texts{"a"});
    // `--` needs a space or control character after it: 1--1 is 1 - -1.
    CHECK(texts("1--1") == Texts{"1", "-", "-", "1"});
    CHECK(texts("a /* x */ b") == Texts{"a", "b"});
    // Comments do not nest: the first */ ends the comment.
    CHECK(texts("a /* x /* y */ b") == Texts{"a", "b"});
    CHECK(texts("'--' '#' '/*'") == Texts{"'--'", "'#'", "'/*'"});
    // A `#` comment ends at \n only; \r is whitespace inside it.
    CHECK(texts("a # c\rd\nb") == Texts{"a", "b"});
}

TEST_CASE("MySqlLexerExecutableComments", "[sql][mysql_parser]") {
    const MySqlDialect maria;  // 10.11.6
    CHECK(texts("a /*! b */ c", maria) == Texts{"a", "b", "c"});
    CHECK(texts("a /*!50100 b */ c", maria) == Texts{"a", "b", "c"});
    CHECK(texts("a /*!99999 b */ c", maria) == Texts{"a", "c"});
    // MariaDB ignores MySQL 5.7 / 8.0 versioned comments, MySQL reads them.
    CHECK(texts("a /*!80000 b */ c", maria) == Texts{"a", "c"});
    CHECK(texts("a /*!80000 b */ c", mysql8()) == Texts{"a", "b", "c"});
    CHECK(texts("a /*!80040 b */ c", mysql8()) == Texts{"a", "c"});
    // /*M! is MariaDB's, with a six-digit version; MySQL sees a plain comment.
    CHECK(texts("a /*M!100500 b */ c", maria) == Texts{"a", "b", "c"});
    CHECK(texts("a /*M!101107 b */ c", maria) == Texts{"a", "c"});
    CHECK(texts("a /*M! b */ c", maria) == Texts{"a", "b", "c"});
    CHECK(texts("a /*M!100500 b */ c", mysql8()) == Texts{"a", "c"});
    // A six-digit version on MariaDB: 101106 is this server exactly.
    CHECK(texts("a /*!101106 b */ c", maria) == Texts{"a", "b", "c"});
    // MySQL reads five digits; the sixth is SQL.
    CHECK(texts("a /*!800001 b */ c", mysql8()) == Texts{"a", "1", "b", "c"});
    // Inside one: strings, plain comments; a skipped one may hold one plain comment.
    CHECK(texts("/*!INSERT '*/' /* x */ INTO*/ t") == Texts{"INSERT", "'*/'", "INTO", "t"});
    CHECK(texts("a /*!99999 b /* c */ d */ e") == Texts{"a", "e"});
}

TEST_CASE("MySqlLexerErrors", "[sql][mysql_parser]") {
    CHECK(error_of("SELECT 'abc") == MySqlLexError{7, "unterminated string literal"});
    CHECK(error_of("SELECT 'abc\\'") == MySqlLexError{7, "unterminated string literal"});
    CHECK(error_of("SELECT \"abc") == MySqlLexError{7, "unterminated string literal"});
    CHECK(error_of("SELECT `abc") == MySqlLexError{7, "unterminated quoted identifier"});
    CHECK(error_of("SELECT \"abc", ansi()) == MySqlLexError{7, "unterminated quoted identifier"});
    CHECK(error_of("SELECT N'abc") == MySqlLexError{7, "unterminated string literal"});
    CHECK(error_of("SELECT 1 /* x") == MySqlLexError{9, "unterminated comment"});
    CHECK(error_of("SELECT /*! 1") == MySqlLexError{7, "unterminated comment"});
    CHECK(error_of("SELECT /*!99999 1") == MySqlLexError{7, "unterminated comment"});
    CHECK(error_of("SELECT X'4'") == MySqlLexError{7, "hex literal with an odd number of digits"});
    CHECK(error_of("SELECT X'4G'") == MySqlLexError{7, "malformed hex literal"});
    CHECK(error_of("SELECT b'102'") == MySqlLexError{7, "malformed bit literal"});
    CHECK(error_of("SELECT X'41") == MySqlLexError{7, "malformed hex literal"});
    // With NO_BACKSLASH_ESCAPES 'a\' is complete, so the next quote opens a new string.
    CHECK(texts("'a\\'", no_backslash()) == Texts{"'a\\'"});
    CHECK(error_of("'a\\' '", no_backslash()).offset == 5);
}

TEST_CASE("MySqlLiteralUnescaping", "[sql][mysql_parser]") {
    CHECK(decoded("'it''s'") == "it's");
    CHECK(decoded("\"say \"\"hi\"\"\"") == "say \"hi\"");
    CHECK(decoded("'a\"b'") == "a\"b");
    CHECK(decoded("\"a'b\"") == "a'b");
    CHECK(decoded("'\\0\\b\\n\\r\\t\\Z'") == std::string("\0\b\n\r\t\x1a", 6));
    CHECK(decoded("'\\\\\\'\\\"'") == "\\'\"");
    // \% and \_ keep their backslash (for LIKE); unknown escapes drop it.
    CHECK(decoded("'\\%\\_'") == "\\%\\_");
    CHECK(decoded("'\\q\\x\\N\\B'") == "qxNB");
    CHECK(decoded("'\\é'") == "é");
    CHECK(decoded("'中文😀'") == "中文😀");
    CHECK(decoded("N'\\n'") == "\n");
    // NO_BACKSLASH_ESCAPES: every backslash is itself.
    CHECK(decoded("'\\n\\\\'", no_backslash()) == "\\n\\\\");
    CHECK(decoded("'a''b'", no_backslash()) == "a'b");
}

TEST_CASE("MySqlHexAndBitLiterals", "[sql][mysql_parser]") {
    CHECK(decoded("X'4142'") == "AB");
    CHECK(decoded("x'4a'") == "J");
    CHECK(decoded("X''").empty());
    CHECK(decoded("0x41") == "A");
    CHECK(decoded("0x123") == std::string("\x01\x23", 2));  // odd: a leading zero nibble
    CHECK(decoded("b'1'") == "\x01");
    CHECK(decoded("b'01000001'") == "A");
    CHECK(decoded("b'100000001'") == "\x01\x01");
    CHECK(decoded("b''").empty());
    CHECK(decoded("0b1000001") == "A");
}

TEST_CASE("MySqlDialectFromTheServer", "[sql][mysql_parser]") {
    MySqlDialect d;
    apply_sql_mode(d, "STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES");
    CHECK(d.no_backslash_escapes);
    CHECK_FALSE(d.ansi_quotes);
    apply_sql_mode(d, "ansi_quotes");
    CHECK_FALSE(d.no_backslash_escapes);
    CHECK(d.ansi_quotes);
    apply_sql_mode(d, "PIPES_AS_CONCAT, ANSI");
    CHECK(d.ansi_quotes);
    apply_sql_mode(d, "NO_ANSI_QUOTES_AT_ALL");
    CHECK_FALSE(d.ansi_quotes);
    apply_sql_mode(d, "");
    CHECK_FALSE(d.ansi_quotes);

    auto m = dialect_for_server("5.5.5-10.11.6-MariaDB-0+deb12u1-log");
    REQUIRE(m);
    CHECK(m->mariadb);
    CHECK(m->server_version == 101106);
    auto o = dialect_for_server("8.0.36");
    REQUIRE(o);
    CHECK_FALSE(o->mariadb);
    CHECK(o->server_version == 80036);
    CHECK_FALSE(dialect_for_server("garbage"));
}

TEST_CASE("MySqlLexerNeverCrashesOnPrefixes", "[sql][mysql_parser]") {
    // Every prefix of a string full of literal forms either lexes or reports an error inside it.
    const std::string sql =
        "INSERT /*!IGNORE*/ INTO `t``x` (a) VALUES (_utf8mb4'a\\'b' 'c', X'41', 0x4, b'1', "
        "N'z', @@v, ?, \\N, 1.5e-3) # tail\n-- x\n/*M!100000 ; */";
    for (std::size_t n = 0; n <= sql.size(); ++n) {
        std::vector<MySqlToken> tokens;
        const std::string_view prefix(sql.data(), n);
        const auto error = lex_mysql(prefix, {}, tokens);
        if (error) CHECK(error->offset < n);
        for (const MySqlToken& t : tokens) CHECK(t.end() <= n);
    }
}
