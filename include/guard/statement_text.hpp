// Statement text as the duplicate log shows it (SPEC §4): normalised (every literal replaced by
// `?`) so that `log_values = false` shows no value and the fingerprint groups statements by shape,
// and cut at a UTF-8 boundary so that a line stays valid JSON.
//
// Normalisation keeps the text as written except:
//   - every literal token becomes `?`: strings of every form ('', E'', U&'' [UESCAPE], $$..$$,
//     $tag$..$tag$, continued 'a'\n'b'), B'' and X'' strings, integers and other numbers. Signs
//     are operators and stay (`-5` gives `-?`); N'x' gives `N?`; parameters ($1, MySQL `?`),
//     identifiers (`col1`, "x") and keywords (true, NULL, DEFAULT) stay;
//   - comments are dropped: they are free text that may carry values (sqlcommenter's
//     /*traceparent='…',route='/enroll/42'*/, commented-out conditions), and a per-request trace
//     id in one would give every statement its own fingerprint. Whitespace around them stays; a
//     comment that alone separated two tokens (`a/**/b`) becomes one space; comments before the
//     first or after the last token go with the whitespace around them.
//
// When the text cannot be read to its end (an unterminated string, quoted identifier or comment;
// PostgreSQL's "trailing junk" such as `12abc`), everything from the token that fails is replaced
// by " …": the tokens before it were read exactly as the server reads them, so their literals
// are masked, and nothing after the point where we lost track is shown. The result still has a
// fingerprint (of that prefix): statements that fail the same way group together.
//
// Safety depends on reading strings the way the server does: with PostgreSQL's
// standard_conforming_strings = off, or MySQL without NO_BACKSLASH_ESCAPES, a backslash escapes
// a quote; read with the wrong setting, the end of a string moves and text after it could be
// taken for SQL. Callers pass the session's setting.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sql/pg_lexer.hpp"

namespace uniqguard::guard {

// The ellipsis that ends a normalised text read only in part.
inline constexpr std::string_view kUnreadTail = "…";

// PostgreSQL, with our lexer (sql/pg_lexer.hpp), so token boundaries are the server's.
std::string normalize_statement_text(std::string_view sql, sql::LexOptions options = {});

// MySQL / MariaDB, with a small scanner of its own: '..' and ".." strings (backslash escapes
// unless `no_backslash_escapes`, the server's SERVER_STATUS_NO_BACKSLASH_ESCAPES), `..`
// identifiers, x'..', b'..', 0x1F, 0b01, numbers, `#`, `-- ` and /* */ comments. It errs on the
// side of masking: ".." is a string even under ANSI_QUOTES, where it is an identifier, and a
// word that starts with a digit (MySQL allows identifiers such as `1t`) is masked whole. The
// text inside /*! … */ and /*M! … */ is executed by the server, so it is normalised like the
// rest and kept, with its markers and version number.
std::string normalize_mysql_statement_text(std::string_view sql, bool no_backslash_escapes = false);

// A statement's normalised text and the fingerprint of that text.
struct StatementDigest {
    std::string normalized;
    std::uint64_t fingerprint = 0;
};

// XXH3_64bits of a normalised text.
std::uint64_t statement_fingerprint(std::string_view normalized);
// 16 lower-case hex digits.
std::string fingerprint_hex(std::uint64_t fingerprint);

// The length of the longest prefix of `text` of at most `max_bytes` bytes that does not end in
// the middle of a UTF-8 sequence. Invalid sequences are not looked into: a cut backs up over at
// most three continuation bytes, to the lead byte of the character it would split.
std::size_t utf8_prefix_length(std::string_view text, std::size_t max_bytes);

// `text` with each byte that is not part of a well-formed UTF-8 sequence replaced by U+FFFD.
// JSON must be UTF-8 (a parser rejects the line otherwise); a statement in a LATIN1
// client_encoding or a binary value would otherwise make its line unreadable.
std::string to_valid_utf8(std::string_view text);

}  // namespace uniqguard::guard
