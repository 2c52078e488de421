// A hand-written MySQL / MariaDB lexer: token boundaries and literal values as the server's own
// lexer (sql_lex.cc, Lex_input_stream::lex_one_token) draws and reads them, for the MySQL
// parser (mysql_parser.hpp). Sans-io and allocation-free beyond the token vector.
//
// What depends on the session, and so is an input (MySqlDialect):
//   - sql_mode NO_BACKSLASH_ESCAPES: a backslash in a string is an ordinary character;
//   - sql_mode ANSI_QUOTES: "x" is an identifier, not a string;
//   - the server's version: `/*!50700 ... */` and (MariaDB) `/*M!100500 ... */` comments are
//     read as SQL when the version allows, otherwise skipped as comments.
// The connection's character set is taken to be an ASCII-compatible one whose multibyte
// characters never contain a quote or backslash byte (utf8mb4, utf8mb3, latin1, binary):
// sjis, big5, gbk and cp932, whose second bytes may be 0x5C, are not supported.
//
// Whitespace and comments produce no token: `#` and `-- ` to the end of the line (`--` counts
// only when followed by a space or control character: `1--1` is 1 - -1), `/* */` (not nested),
// and the markers of executable comments, whose contents produce tokens like any other text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uniqguard::sql {

struct MySqlDialect {
    bool no_backslash_escapes = false;  // sql_mode NO_BACKSLASH_ESCAPES
    bool ansi_quotes = false;           // sql_mode ANSI_QUOTES (or ANSI, ORACLE, ...)
    // sql_mode EMPTY_STRING_IS_NULL (MariaDB): the server reads a string literal that is empty
    // ('', N'', _utf8mb4'', '' '') as NULL; hex and bit literals stay strings.
    bool empty_string_is_null = false;
    // MariaDB reads `/*M!NNNNNN */` comments and ignores `/*!NNNNN */` comments whose version is
    // a MySQL 5.7 or 8.0 one (50700 to 99999); MySQL does neither.
    bool mariadb = true;
    // major * 10000 + minor * 100 + patch, as in `/*!NNNNN`: MariaDB 10.11.6 is 101106.
    std::uint32_t server_version = 101106;
};

// Applies the server's @@sql_mode (comma-separated names, any case) to `dialect`: sets
// no_backslash_escapes, ansi_quotes and empty_string_is_null from the modes present (the
// combination modes ANSI, DB2, MAXDB, MSSQL, ORACLE and POSTGRESQL include ANSI_QUOTES; none
// includes EMPTY_STRING_IS_NULL), clears them otherwise.
void apply_sql_mode(MySqlDialect& dialect, std::string_view sql_mode);

// The server version string of the handshake or of SELECT VERSION() ("10.11.6-MariaDB-log",
// "8.0.36", "5.5.5-10.11.6-MariaDB": MariaDB's replication prefix is skipped) as a dialect:
// version number and flavour. nullopt when no version can be read.
std::optional<MySqlDialect> dialect_for_server(std::string_view version);

enum class MySqlTokenKind : std::uint8_t {
    identifier,          // unquoted; keywords are identifiers too; may start with a digit (1a)
    quoted_identifier,   // `x`, or "x" under ANSI_QUOTES
    charset_introducer,  // _utf8mb4, _binary...: `_` and the name of a known character set
    string,              // 'x', or "x" without ANSI_QUOTES
    national_string,     // N'x'
    hex_string,          // X'41'
    hex_number,          // 0x41
    bit_string,          // b'101'
    bit_number,          // 0b101
    integer,             // 42
    decimal,             // 1.5, .5, 1.
    float_,              // 1e3, 1.5E-3
    parameter,           // ?
    variable,            // @v, @'v', @`v`, @@v, @@session.v
    null_escape,         // \N, which the server reads as NULL
    operator_,           // = <=> <> != <= >= << >> && || := -> ->> + - * / % ^ & | ~ ! < >
    punctuation,         // ( ) , . ; and any other single character
};

struct MySqlToken {
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
    MySqlTokenKind kind = MySqlTokenKind::punctuation;
    std::uint32_t end() const { return offset + length; }
    bool operator==(const MySqlToken&) const = default;
};

struct MySqlLexError {
    std::size_t offset = 0;    // where the unterminated or malformed construct starts
    std::string_view message;  // static text: "unterminated string literal"...
    bool operator==(const MySqlLexError&) const = default;
};

// Appends the tokens of `sql` to `out` (cleared first). On error the tokens before the faulty
// construct are in `out` and the error says where it starts: an unterminated string, quoted
// identifier or comment (the server answers a syntax error: 1064), or an X'..' / b'..' literal
// with a character that does not belong or an odd number of hex digits.
std::optional<MySqlLexError> lex_mysql(std::string_view sql, const MySqlDialect& dialect,
                                       std::vector<MySqlToken>& out);

inline std::string_view token_text(std::string_view sql, const MySqlToken& t) {
    return sql.substr(t.offset, t.length);
}

// True for an unquoted identifier equal to `lower_word` (ASCII, case-insensitive).
bool is_word(std::string_view sql, const MySqlToken& t, std::string_view lower_word);
// True for a punctuation or operator token spelled exactly `text`.
bool is_symbol(std::string_view sql, const MySqlToken& t, std::string_view text);

bool is_string_kind(MySqlTokenKind k);          // string, national_string
bool is_binary_literal_kind(MySqlTokenKind k);  // hex_string, hex_number, bit_string, bit_number
bool is_number_kind(MySqlTokenKind k);          // integer, decimal, float_

// The bytes a literal token stands for, as the server reads them: a string's contents with
// doubled quotes and (unless no_backslash_escapes) backslash escapes undone; a hex or bit
// literal's bytes (0x123 is 01 23, b'1' is 01, b'' is empty). nullopt for any other token.
std::optional<std::string> decode_mysql_literal(std::string_view token_text, MySqlTokenKind kind,
                                                const MySqlDialect& dialect);

// The name of a quoted identifier token (`a``b` is a`b); an unquoted one as written.
std::string identifier_name(std::string_view token_text, MySqlTokenKind kind);

}  // namespace uniqguard::sql
