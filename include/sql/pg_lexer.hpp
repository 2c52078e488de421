// A hand-written PostgreSQL 15 lexer: token boundaries exactly as the server's scan.l draws them,
// with no parse and no allocation beyond the token vector. Three users:
//   - the parser adapter, to find where a value, a WHERE clause or a RETURNING list starts and
//     ends (libpg_query gives a start location only);
//   - the statement-shape key (literal_shape.hpp), which must cost a fraction of a parse;
//   - decoding a literal token the way the server reads it, when a cached analysis is re-used
//     for a statement that differs only in its literals.
// Whitespace and comments produce no token. A string continued on the next line ('a'\n'b') is
// one token, as is U&'..' UESCAPE '!' (the server's parser joins those too). N'x' is two tokens,
// exactly as the server reads it: the identifier `nchar` (one byte, the N) and the string.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uniqguard::sql {

enum class TokenKind : std::uint8_t {
    identifier,         // unquoted; keywords are identifiers too (see is_word)
    quoted_identifier,  // "x" or U&"x" [UESCAPE 'c']
    string,             // 'x'
    escape_string,      // E'x'
    unicode_string,     // U&'x' [UESCAPE 'c']
    dollar_string,      // $$x$$, $tag$x$tag$
    bit_string,         // B'101'
    hex_string,         // X'1F'
    national_prefix,    // the N of N'x': the server reads the identifier `nchar` there
    integer,            // digits only (the server turns one that overflows int32 into numeric)
    numeric,            // 1.5, .5, 1e3
    parameter,          // $1
    operator_,          // +, -, =, <>, ||, ->> ... (the server's multi-character operator rule)
    punctuation,        // ( ) [ ] , ; . :: .. := and single characters the server calls `other`
    // An unterminated string, quoted identifier or comment, or a number or parameter glued to
    // a word (PostgreSQL 15's "trailing junk"): runs to the end of the text.
    invalid,
};

struct Token {
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
    TokenKind kind = TokenKind::invalid;
    std::uint32_t end() const { return offset + length; }
    bool operator==(const Token&) const = default;
};

struct LexOptions {
    // With `standard_conforming_strings = off` a backslash escapes in plain '...' strings too.
    bool standard_conforming_strings = true;
};

// Appends the tokens of `sql` to `out` (cleared first). Returns false when an `invalid` token was
// produced (the server would answer a syntax error).
bool lex_postgres(std::string_view sql, std::vector<Token>& out, LexOptions options = {});

bool is_string_kind(TokenKind k);   // string, escape_string, unicode_string, dollar_string
bool is_literal_kind(TokenKind k);  // strings, bit/hex strings and numbers

inline std::string_view token_text(std::string_view sql, const Token& t) {
    return sql.substr(t.offset, t.length);
}

// True for an unquoted identifier equal to `lower_word` (ASCII, case-insensitive).
bool is_word(std::string_view sql, const Token& t, std::string_view lower_word);
// True for a punctuation or operator token spelled exactly `text`.
bool is_symbol(std::string_view sql, const Token& t, std::string_view text);

// The value of a string token (string, escape_string, unicode_string, dollar_string) as the
// server reads it. nullopt where the server would raise an error (bad escape, invalid UTF-8,
// a zero byte) or the token is not a string. The server's encoding is taken to be UTF-8.
std::optional<std::string> decode_string_token(std::string_view token_text, TokenKind kind,
                                               LexOptions options = {});

}  // namespace uniqguard::sql
