// Mirrors Lex_input_stream::lex_one_token of MariaDB 10.11's sql/sql_lex.cc (MySQL's is the same
// for everything here but `/*M!` comments). Only token boundaries matter here; keyword
// recognition is left to the parser, literal values to mysql_literal.cpp.
#include "sql/mysql_lexer.hpp"

#include <cstring>

namespace uniqguard::sql {
namespace {

constexpr std::size_t npos = std::string_view::npos;

// The server's MY_LEX_SKIP characters (my_isspace of an ASCII-compatible character set).
bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_cntrl(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
// ident_map: letters, digits, `_`, `$` and every byte of a multibyte character.
bool is_ident_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
           c == '$' || u >= 0x80;
}
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_lower(std::string_view text, std::string_view lower_word) {
    if (text.size() != lower_word.size()) return false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (lower(text[i]) != lower_word[i]) return false;
    }
    return true;
}

// The primary character set names of MariaDB 10.11 (SHOW CHARACTER SET) and MySQL 8.0: `_name`
// is an introducer only for these (get_charset_by_csname), any other `_name` is an identifier.
constexpr std::string_view kCharsets[] = {
    "armscii8", "ascii",   "big5",     "binary", "cp1250",  "cp1251",  "cp1256",
    "cp1257",   "cp850",   "cp852",    "cp866",  "cp932",   "dec8",    "eucjpms",
    "euckr",    "gb18030", "gb2312",   "gbk",    "geostd8", "greek",   "hebrew",
    "hp8",      "keybcs2", "koi8r",    "koi8u",  "latin1",  "latin2",  "latin5",
    "latin7",   "macce",   "macroman", "sjis",   "swe7",    "tis620",  "ucs2",
    "ujis",     "utf16",   "utf16le",  "utf32",  "utf8",    "utf8mb3", "utf8mb4",
};

bool is_charset_name(std::string_view name) {
    for (std::string_view cs : kCharsets) {
        if (equals_lower(name, cs)) return true;
    }
    return false;
}

struct Lexer {
    std::string_view s;
    const MySqlDialect& dialect;
    std::vector<MySqlToken>& out;
    // Inside an executable comment whose contents are being read as SQL: its `*/` ends it.
    bool in_executable = false;
    std::size_t executable_start = 0;

    char at(std::size_t i) const { return i < s.size() ? s[i] : '\0'; }

    void emit(std::size_t begin, std::size_t end, MySqlTokenKind kind) {
        out.push_back(
            {static_cast<std::uint32_t>(begin), static_cast<std::uint32_t>(end - begin), kind});
    }

    // consume_comment(): from just after `/*`, to just after the first `*/`; npos when the
    // comment never ends. A skipped versioned comment may hold one level of plain comment.
    std::size_t comment_end(std::size_t i, bool allow_nested) const {
        while (i < s.size()) {
            if (allow_nested && s[i] == '/' && at(i + 1) == '*') {
                const std::size_t inner = comment_end(i + 2, false);
                if (inner == npos) return npos;
                i = inner;
                continue;
            }
            if (s[i] == '*' && at(i + 1) == '/') return i + 2;
            ++i;
        }
        return npos;
    }

    // `/*` at i. Returns where lexing goes on: after the whole comment, or after the marker of an
    // executable comment whose contents are SQL (in_executable is then set). npos: unterminated.
    std::size_t block_comment(std::size_t i) {
        const bool bang = at(i + 2) == '!';
        const bool maria = dialect.mariadb && at(i + 2) == 'M' && at(i + 3) == '!';
        if (in_executable || (!bang && !maria)) return comment_end(i + 2, false);
        std::size_t j = i + (maria ? 4 : 3);
        std::size_t digits = 0;
        while (digits < 5 && is_digit(at(j + digits))) ++digits;
        if (digits == 5) {
            // MariaDB reads a sixth digit (100500 is 10.5.0); MySQL exactly five.
            if (dialect.mariadb && is_digit(at(j + 5))) digits = 6;
            std::uint32_t version = 0;
            for (std::size_t k = 0; k < digits; ++k) {
                version = version * 10 + static_cast<std::uint32_t>(s[j + k] - '0');
            }
            // MariaDB ignores MySQL 5.7 and 8.0 versioned comments: their syntax is not its own.
            const bool mysql_only =
                dialect.mariadb && !maria && version >= 50700 && version <= 99999;
            if (version > dialect.server_version || mysql_only) {
                return comment_end(j + digits, true);
            }
            j += digits;
        }
        in_executable = true;
        executable_start = i;
        return j;
    }

    // Whitespace and comments from i; npos with `error` set on an unterminated comment.
    std::size_t skip_ignorable(std::size_t i, std::optional<MySqlLexError>& error) {
        while (i < s.size()) {
            const char c = s[i];
            if (is_space(c)) {
                ++i;
            } else if (c == '#' ||
                       (c == '-' && at(i + 1) == '-' &&
                        (i + 2 >= s.size() || is_space(s[i + 2]) || is_cntrl(s[i + 2])))) {
                // To the newline (kept: it is whitespace) or a zero byte, as the server stops.
                while (i < s.size() && s[i] != '\n' && s[i] != '\0') ++i;
                if (i < s.size() && s[i] == '\0') return i;
            } else if (c == '/' && at(i + 1) == '*') {
                const std::size_t begin = i;
                i = block_comment(i);
                if (i == npos) {
                    error = MySqlLexError{begin, "unterminated comment"};
                    return npos;
                }
            } else if (in_executable && c == '*' && at(i + 1) == '/') {
                in_executable = false;
                i += 2;
            } else {
                break;
            }
        }
        return i;
    }

    // get_text(): the end of a string whose opening quote `q` is at i (after the closing quote),
    // or npos when it never ends.
    std::size_t quoted_end(std::size_t i, char q, bool backslash) const {
        std::size_t j = i + 1;
        while (j < s.size()) {
            const char c = s[j];
            if (backslash && c == '\\') {
                if (j + 1 >= s.size()) return npos;
                j += 2;
            } else if (c == q) {
                if (at(j + 1) == q) {
                    j += 2;
                } else {
                    return j + 1;
                }
            } else {
                ++j;
            }
        }
        return npos;
    }

    // X'..' / b'..' at i (the quote at i + 1): npos with `error` when malformed.
    std::size_t binary_string_end(std::size_t i, bool hex, std::optional<MySqlLexError>& error) {
        std::size_t j = i + 2;
        while (j < s.size() && (hex ? is_hex(s[j]) : (s[j] == '0' || s[j] == '1'))) ++j;
        if (at(j) != '\'') {
            error = MySqlLexError{i, hex ? "malformed hex literal" : "malformed bit literal"};
            return npos;
        }
        if (hex && (j - (i + 2)) % 2 != 0) {
            error = MySqlLexError{i, "hex literal with an odd number of digits"};
            return npos;
        }
        return j + 1;
    }

    std::size_t ident_end(std::size_t j) const {
        while (j < s.size() && is_ident_char(s[j])) ++j;
        return j;
    }

    // MY_LEX_NUMBER_IDENT: a number, 0x../0b.. literal, or an identifier that starts with
    // digits (123abc, 1e, 0x1g).
    std::size_t number_or_ident(std::size_t i, MySqlTokenKind& kind) const {
        if (s[i] == '0' && (at(i + 1) == 'x' || at(i + 1) == 'b')) {
            const bool hex = at(i + 1) == 'x';
            std::size_t j = i + 2;
            while (j < s.size() && (hex ? is_hex(s[j]) : (s[j] == '0' || s[j] == '1'))) ++j;
            if (j > i + 2 && !is_ident_char(at(j))) {
                kind = hex ? MySqlTokenKind::hex_number : MySqlTokenKind::bit_number;
                return j;
            }
            kind = MySqlTokenKind::identifier;
            return ident_end(j);
        }
        std::size_t j = i;
        while (is_digit(at(j))) ++j;
        if (!is_ident_char(at(j))) return real_end(j, kind);
        if (at(j) == 'e' || at(j) == 'E') {
            std::size_t k = j + 1;
            if (at(k) == '+' || at(k) == '-') ++k;
            if (is_digit(at(k))) {
                while (is_digit(at(k))) ++k;
                kind = MySqlTokenKind::float_;
                return k;
            }
        }
        kind = MySqlTokenKind::identifier;
        return ident_end(j);
    }

    // MY_LEX_INT_OR_REAL / MY_LEX_REAL: the digits before j, then maybe `.digits` and an
    // exponent.
    std::size_t real_end(std::size_t j, MySqlTokenKind& kind) const {
        kind = MySqlTokenKind::integer;
        if (at(j) != '.' || at(j + 1) == '.') return j;  // 1..10 is 1, .., 10
        ++j;
        while (is_digit(at(j))) ++j;
        kind = MySqlTokenKind::decimal;
        if (at(j) == 'e' || at(j) == 'E') {
            std::size_t k = j + 1;
            if (at(k) == '+' || at(k) == '-') ++k;
            // Without a digit the server returns the number so far and reads `e` as a character.
            if (!is_digit(at(k))) return j;
            while (is_digit(at(k))) ++k;
            kind = MySqlTokenKind::float_;
            return k;
        }
        return j;
    }

    // After `@`: a user variable (@a, @'a', @`a`, @"a") or a system one (@@a, @@session.a).
    std::size_t variable_end(std::size_t i) const {
        std::size_t j = i + 1;
        if (at(j) == '@') {
            ++j;
            if (at(j) == '`') {
                const std::size_t e = quoted_end(j, '`', false);
                return e == npos ? j : e;
            }
            j = ident_end(j);
            while (at(j) == '.' && is_ident_char(at(j + 1))) j = ident_end(j + 1);
            return j;
        }
        const char c = at(j);
        if (c == '\'' || c == '"' || c == '`') {
            const std::size_t e = quoted_end(j, c, c != '`' && !dialect.no_backslash_escapes);
            return e == npos ? j : e;
        }
        return ident_end(j);
    }

    std::size_t operator_end(std::size_t i) const {
        const char c = s[i];
        const char c1 = at(i + 1);
        switch (c) {
            case '<':
                if (c1 == '=' && at(i + 2) == '>') return i + 3;
                return (c1 == '=' || c1 == '>' || c1 == '<') ? i + 2 : i + 1;
            case '>':
                return (c1 == '=' || c1 == '>') ? i + 2 : i + 1;
            case '!':
                return c1 == '=' ? i + 2 : i + 1;
            case '&':
            case '|':
                return c1 == c ? i + 2 : i + 1;
            case ':':
                return c1 == '=' ? i + 2 : i + 1;
            case '-':
                if (c1 == '>') return at(i + 2) == '>' ? i + 3 : i + 2;
                return i + 1;
            default:
                return i + 1;
        }
    }

    // One token at i (not whitespace, not a comment); its end, or npos with `error` set.
    std::size_t lex_one(std::size_t i, MySqlTokenKind& kind, std::optional<MySqlLexError>& error) {
        const char c = s[i];
        const char c1 = at(i + 1);
        const char lc = lower(c);
        if ((lc == 'x' || lc == 'b') && c1 == '\'') {
            kind = lc == 'x' ? MySqlTokenKind::hex_string : MySqlTokenKind::bit_string;
            return binary_string_end(i, lc == 'x', error);
        }
        if (lc == 'n' && c1 == '\'') {
            kind = MySqlTokenKind::national_string;
            const std::size_t e = quoted_end(i + 1, '\'', !dialect.no_backslash_escapes);
            if (e == npos) error = MySqlLexError{i, "unterminated string literal"};
            return e;
        }
        if (is_digit(c)) return number_or_ident(i, kind);
        if (is_ident_char(c)) {
            const std::size_t e = ident_end(i);
            kind = MySqlTokenKind::identifier;
            // An introducer is a plain (ASCII) word: a multibyte one is an identifier.
            if (c == '_' && e > i + 1 && is_charset_name(s.substr(i + 1, e - i - 1))) {
                kind = MySqlTokenKind::charset_introducer;
            }
            return e;
        }
        switch (c) {
            case '\'':
            case '"': {
                if (c == '"' && dialect.ansi_quotes) {
                    kind = MySqlTokenKind::quoted_identifier;
                    const std::size_t e = quoted_end(i, '"', false);
                    if (e == npos) error = MySqlLexError{i, "unterminated quoted identifier"};
                    return e;
                }
                kind = MySqlTokenKind::string;
                const std::size_t e = quoted_end(i, c, !dialect.no_backslash_escapes);
                if (e == npos) error = MySqlLexError{i, "unterminated string literal"};
                return e;
            }
            case '`': {
                kind = MySqlTokenKind::quoted_identifier;
                const std::size_t e = quoted_end(i, '`', false);
                if (e == npos) error = MySqlLexError{i, "unterminated quoted identifier"};
                return e;
            }
            case '.':
                if (is_digit(c1)) return real_end(i, kind);
                kind = MySqlTokenKind::punctuation;
                return c1 == '.' ? i + 2 : i + 1;  // MariaDB's `..` (FOR i IN 1..10)
            case '?':
                kind = MySqlTokenKind::parameter;
                return i + 1;
            case '@':
                kind = MySqlTokenKind::variable;
                return variable_end(i);
            case '\\':
                if (c1 == 'N') {
                    kind = MySqlTokenKind::null_escape;
                    return i + 2;
                }
                kind = MySqlTokenKind::punctuation;
                return i + 1;
            default:
                break;
        }
        if (c != '\0' && std::strchr("=<>!&|:-+*/%^~", c) != nullptr) {
            kind = MySqlTokenKind::operator_;
            return operator_end(i);
        }
        kind = MySqlTokenKind::punctuation;  // ( ) , ; { } [ ] and anything else
        return i + 1;
    }

    std::optional<MySqlLexError> run() {
        std::optional<MySqlLexError> error;
        std::size_t i = 0;
        while (true) {
            const std::size_t start = skip_ignorable(i, error);
            if (start == npos) return error;
            if (start >= s.size()) break;
            MySqlTokenKind kind = MySqlTokenKind::punctuation;
            const std::size_t end = lex_one(start, kind, error);
            if (end == npos) return error;
            emit(start, end, kind);
            i = end;
        }
        // The server answers a syntax error for an executable comment left open.
        if (in_executable) return MySqlLexError{executable_start, "unterminated comment"};
        return std::nullopt;
    }
};

}  // namespace

std::optional<MySqlLexError> lex_mysql(std::string_view sql, const MySqlDialect& dialect,
                                       std::vector<MySqlToken>& out) {
    out.clear();
    Lexer lx{sql, dialect, out};
    return lx.run();
}

bool is_word(std::string_view sql, const MySqlToken& t, std::string_view lower_word) {
    return t.kind == MySqlTokenKind::identifier && equals_lower(token_text(sql, t), lower_word);
}

bool is_symbol(std::string_view sql, const MySqlToken& t, std::string_view text) {
    return (t.kind == MySqlTokenKind::punctuation || t.kind == MySqlTokenKind::operator_) &&
           token_text(sql, t) == text;
}

bool is_string_kind(MySqlTokenKind k) {
    return k == MySqlTokenKind::string || k == MySqlTokenKind::national_string;
}

bool is_binary_literal_kind(MySqlTokenKind k) {
    return k == MySqlTokenKind::hex_string || k == MySqlTokenKind::hex_number ||
           k == MySqlTokenKind::bit_string || k == MySqlTokenKind::bit_number;
}

bool is_number_kind(MySqlTokenKind k) {
    return k == MySqlTokenKind::integer || k == MySqlTokenKind::decimal ||
           k == MySqlTokenKind::float_;
}

}  // namespace uniqguard::sql
