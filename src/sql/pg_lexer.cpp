// Mirrors src/backend/parser/scan.l of PostgreSQL 15 (the grammar libpg_query 15-4.0.0 embeds).
// Only boundaries and literal values matter here; keyword recognition is left to callers.
#include "sql/pg_lexer.hpp"

#include <cstring>

namespace uniqguard::sql {
namespace {

constexpr std::size_t npos = std::string_view::npos;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_ident_start(char c) {
    const auto u = static_cast<unsigned char>(c);
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || u >= 0x80;
}
bool is_ident_cont(char c) { return is_ident_start(c) || is_digit(c) || c == '$'; }
bool is_dolq_cont(char c) { return is_ident_start(c) || is_digit(c); }
bool is_op_char(char c) { return c != '\0' && std::strchr("~!@#^&|`?+-*/%<>=", c) != nullptr; }
bool is_self_char(char c) { return c != '\0' && std::strchr(",()[].;:+-*/%^<>=", c) != nullptr; }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

struct Lexer {
    std::string_view s;
    LexOptions options;

    char at(std::size_t i) const { return i < s.size() ? s[i] : '\0'; }

    // Skips a `--` comment; returns the position of the newline (or the end).
    std::size_t skip_line_comment(std::size_t i) const {
        while (i < s.size() && s[i] != '\n' && s[i] != '\r') ++i;
        return i;
    }

    // Skips a nested /* */ comment starting at i; npos when unterminated.
    std::size_t skip_block_comment(std::size_t i) const {
        int depth = 0;
        while (i < s.size()) {
            if (s[i] == '/' && at(i + 1) == '*') {
                ++depth;
                i += 2;
            } else if (s[i] == '*' && at(i + 1) == '/') {
                i += 2;
                if (--depth == 0) return i;
            } else {
                ++i;
            }
        }
        return npos;
    }

    // Whitespace and comments; npos when a block comment never ends (where it began goes to
    // `unterminated`).
    std::size_t skip_ignorable(std::size_t i, std::size_t* unterminated = nullptr) const {
        while (i < s.size()) {
            if (is_space(s[i])) {
                ++i;
            } else if (s[i] == '-' && at(i + 1) == '-') {
                i = skip_line_comment(i);
            } else if (s[i] == '/' && at(i + 1) == '*') {
                const std::size_t begin = i;
                i = skip_block_comment(i);
                if (i == npos) {
                    if (unterminated != nullptr) *unterminated = begin;
                    return npos;
                }
            } else {
                break;
            }
        }
        return i;
    }

    // After a closing quote at p-1: the position of the quote that continues the string on a
    // later line ({quotecontinue} in scan.l), or npos. PostgreSQL's own scanner also allows
    // `--` comments in between; libpg_query 15-4.0.0 does not (it answers a syntax error), and
    // we follow libpg_query, whose parse our ranges must match.
    std::size_t continuation_after(std::size_t p) const {
        bool newline = false;
        std::size_t k = p;
        while (k < s.size() && is_space(s[k])) {
            if (s[k] == '\n' || s[k] == '\r') newline = true;
            ++k;
        }
        return (newline && at(k) == '\'') ? k : npos;
    }

    // Body of a quoted string whose opening quote is at q; returns the end (after the closing
    // quote, continuations included) or npos when unterminated.
    std::size_t string_end(std::size_t q, bool backslash_escapes) const {
        std::size_t j = q + 1;
        while (j < s.size()) {
            const char c = s[j];
            if (backslash_escapes && c == '\\') {
                j += 2;
                continue;
            }
            if (c == '\'') {
                if (at(j + 1) == '\'') {
                    j += 2;
                    continue;
                }
                const std::size_t next = continuation_after(j + 1);
                if (next == npos) return j + 1;
                j = next + 1;
                continue;
            }
            ++j;
        }
        return npos;
    }

    std::size_t quoted_identifier_end(std::size_t q) const {
        std::size_t j = q + 1;
        while (j < s.size()) {
            if (s[j] == '"') {
                if (at(j + 1) == '"') {
                    j += 2;
                    continue;
                }
                return j + 1;
            }
            ++j;
        }
        return npos;
    }

    // U&'..' and U&".." may be followed by UESCAPE 'c'; the server's parser joins the three.
    std::size_t with_uescape(std::size_t end) const {
        const std::size_t k = skip_ignorable(end);
        if (k == npos || k + 7 > s.size()) return end;
        for (std::size_t i = 0; i < 7; ++i) {
            if (lower(s[k + i]) != "uescape"[i]) return end;
        }
        if (is_ident_cont(at(k + 7))) return end;
        const std::size_t q = skip_ignorable(k + 7);
        if (q == npos || at(q) != '\'') return end;
        const std::size_t e = string_end(q, false);
        return e == npos ? end : e;
    }

    std::size_t number_end(std::size_t i, TokenKind& kind) const {
        std::size_t j = i;
        while (is_digit(at(j))) ++j;
        kind = TokenKind::integer;
        if (at(j) == '.') {
            if (at(j + 1) == '.' && j > i) return j;  // {decimalfail}: 1..2 is 1, .., 2
            ++j;
            while (is_digit(at(j))) ++j;
            kind = TokenKind::numeric;
        }
        if (at(j) == 'e' || at(j) == 'E') {
            std::size_t k = j + 1;
            if (at(k) == '+' || at(k) == '-') ++k;
            if (!is_digit(at(k))) return npos;  // {realfail}: "trailing junk after numeric literal"
            while (is_digit(at(k))) ++k;
            j = k;
            kind = TokenKind::numeric;
        }
        // PostgreSQL 15 refuses a number glued to a word ({integer_junk}, {real_junk}...).
        return is_ident_start(at(j)) ? npos : j;
    }

    // The operator rule of scan.l, including its refusal to end a multi-character operator in
    // + or - (so that `=-1` is `=`, `-`, `1`) and to swallow the start of a comment.
    std::size_t operator_end(std::size_t i) const {
        std::size_t j = i;
        while (is_op_char(at(j))) ++j;
        std::size_t n = j - i;
        for (std::size_t k = i + 1; k + 1 < j; ++k) {
            if ((s[k] == '/' && s[k + 1] == '*') || (s[k] == '-' && s[k + 1] == '-')) {
                n = k - i;
                break;
            }
        }
        if (n > 1 && (s[i + n - 1] == '+' || s[i + n - 1] == '-')) {
            bool special = false;
            for (std::size_t k = 0; k + 1 < n; ++k) {
                if (std::strchr("~!@#^&|`?%", s[i + k]) != nullptr) {
                    special = true;
                    break;
                }
            }
            if (!special) {
                do {
                    --n;
                } while (n > 1 && (s[i + n - 1] == '+' || s[i + n - 1] == '-'));
            }
        }
        return i + n;
    }

    // One token starting at i (not whitespace, not a comment). Returns its end; npos means an
    // unterminated construct.
    std::size_t lex_one(std::size_t i, TokenKind& kind) const {
        const char c = s[i];
        const char c1 = at(i + 1);
        if (is_ident_start(c)) {
            const char lc = lower(c);
            if (c1 == '\'') {
                if (lc == 'e') {
                    kind = TokenKind::escape_string;
                    return string_end(i + 1, true);
                }
                if (lc == 'b' || lc == 'x') {
                    kind = lc == 'b' ? TokenKind::bit_string : TokenKind::hex_string;
                    return string_end(i + 1, false);
                }
                if (lc == 'n') {
                    kind = TokenKind::national_prefix;
                    return i + 1;
                }
            }
            if (lc == 'u' && c1 == '&' && (at(i + 2) == '\'' || at(i + 2) == '"')) {
                std::size_t e;
                if (at(i + 2) == '\'') {
                    kind = TokenKind::unicode_string;
                    e = string_end(i + 2, false);
                } else {
                    kind = TokenKind::quoted_identifier;
                    e = quoted_identifier_end(i + 2);
                }
                return e == npos ? npos : with_uescape(e);
            }
            std::size_t j = i + 1;
            while (is_ident_cont(at(j))) ++j;
            kind = TokenKind::identifier;
            return j;
        }
        if (is_digit(c) || (c == '.' && is_digit(c1))) return number_end(i, kind);
        switch (c) {
            case '\'':
                kind = TokenKind::string;
                return string_end(i, !options.standard_conforming_strings);
            case '"':
                kind = TokenKind::quoted_identifier;
                return quoted_identifier_end(i);
            case '$': {
                if (is_digit(c1)) {
                    std::size_t j = i + 1;
                    while (is_digit(at(j))) ++j;
                    kind = TokenKind::parameter;
                    return is_ident_start(at(j)) ? npos : j;  // {param_junk}
                }
                std::size_t j = i + 1;
                if (is_ident_start(c1)) {
                    while (is_dolq_cont(at(j))) ++j;
                }
                if (at(j) != '$') {  // {dolqfailed}: a lone $
                    kind = TokenKind::punctuation;
                    return i + 1;
                }
                const std::string_view tag = s.substr(i, j + 1 - i);
                const std::size_t close = s.find(tag, j + 1);
                kind = TokenKind::dollar_string;
                return close == npos ? npos : close + tag.size();
            }
            case ':':
                kind = TokenKind::punctuation;
                return (c1 == ':' || c1 == '=') ? i + 2 : i + 1;
            case '.':
                kind = TokenKind::punctuation;
                return c1 == '.' ? i + 2 : i + 1;
            default:
                break;
        }
        if (is_op_char(c)) {
            const std::size_t e = operator_end(i);
            kind = (e == i + 1 && is_self_char(c)) ? TokenKind::punctuation : TokenKind::operator_;
            // Single-character arithmetic and comparison symbols are operators to our callers.
            if (e == i + 1 && std::strchr("+-*/%^<>=", c) != nullptr) kind = TokenKind::operator_;
            return e;
        }
        kind = TokenKind::punctuation;  // , ( ) [ ] ; and anything the server calls {other}
        return i + 1;
    }
};

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n;
        std::uint32_t cp;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + n > s.size()) return false;
        for (std::size_t k = 1; k < n; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        i += n;
    }
    return true;
}

bool is_surrogate_first(std::uint32_t c) { return c >= 0xD800 && c <= 0xDBFF; }
bool is_surrogate_second(std::uint32_t c) { return c >= 0xDC00 && c <= 0xDFFF; }
bool valid_codepoint(std::uint32_t c) { return c > 0 && c <= 0x10FFFF; }
std::uint32_t surrogate_pair(std::uint32_t first, std::uint32_t second) {
    return ((first & 0x3FF) << 10) + 0x10000 + (second & 0x3FF);
}

std::uint32_t hex_value(std::string_view digits) {
    std::uint32_t v = 0;
    for (char c : digits) {
        v = v * 16 + static_cast<std::uint32_t>(is_digit(c) ? c - '0' : (lower(c) - 'a' + 10));
    }
    return v;
}

// The body of a quoted token, its continuations joined, and where its last quote ends.
struct Segments {
    std::string body;
    std::size_t end = 0;
};

// Decodes the segments of a quoted literal starting with the quote at `q`. In escape mode the
// backslash escapes of E'' strings are applied; otherwise only '' is undone.
std::optional<Segments> read_segments(std::string_view t, std::size_t q, bool escapes) {
    const Lexer lx{t, {}};
    Segments out;
    bool saw_non_ascii = false;
    std::uint32_t pending_surrogate = 0;
    std::size_t j = q + 1;
    while (true) {
        if (j >= t.size()) return std::nullopt;
        const char c = t[j];
        if (pending_surrogate != 0 && !(escapes && c == '\\' && lower(lx.at(j + 1)) == 'u')) {
            return std::nullopt;  // a first surrogate must be followed by the second
        }
        if (c == '\'') {
            if (lx.at(j + 1) == '\'') {
                out.body.push_back('\'');
                j += 2;
                continue;
            }
            const std::size_t next = lx.continuation_after(j + 1);
            if (next == npos) {
                out.end = j + 1;
                break;
            }
            j = next + 1;
            continue;
        }
        if (!escapes || c != '\\') {
            out.body.push_back(c);
            ++j;
            continue;
        }
        if (j + 1 >= t.size()) return std::nullopt;
        const char e = t[j + 1];
        switch (e) {
            case 'b':
                out.body.push_back('\b');
                j += 2;
                continue;
            case 'f':
                out.body.push_back('\f');
                j += 2;
                continue;
            case 'n':
                out.body.push_back('\n');
                j += 2;
                continue;
            case 'r':
                out.body.push_back('\r');
                j += 2;
                continue;
            case 't':
                out.body.push_back('\t');
                j += 2;
                continue;
            default:
                break;
        }
        if (e >= '0' && e <= '7') {
            std::size_t k = j + 1;
            unsigned v = 0;
            while (k < j + 4 && k < t.size() && t[k] >= '0' && t[k] <= '7') {
                v = v * 8 + static_cast<unsigned>(t[k] - '0');
                ++k;
            }
            const auto b = static_cast<unsigned char>(v & 0xFF);
            if (b == 0 || b >= 0x80) saw_non_ascii = true;
            out.body.push_back(static_cast<char>(b));
            j = k;
            continue;
        }
        if (e == 'x' && is_hex(lx.at(j + 2))) {
            std::size_t k = j + 2;
            while (k < j + 4 && is_hex(lx.at(k))) ++k;
            const auto b = static_cast<unsigned char>(hex_value(t.substr(j + 2, k - j - 2)));
            if (b == 0 || b >= 0x80) saw_non_ascii = true;
            out.body.push_back(static_cast<char>(b));
            j = k;
            continue;
        }
        if (e == 'u' || e == 'U') {
            const std::size_t n = e == 'u' ? 4 : 8;
            for (std::size_t k = 0; k < n; ++k) {
                if (!is_hex(lx.at(j + 2 + k))) return std::nullopt;  // {xeunicodefail}
            }
            const std::uint32_t cp = hex_value(t.substr(j + 2, n));
            j += 2 + n;
            if (pending_surrogate != 0) {
                if (!is_surrogate_second(cp)) return std::nullopt;
                append_utf8(out.body, surrogate_pair(pending_surrogate, cp));
                pending_surrogate = 0;
            } else if (is_surrogate_first(cp)) {
                pending_surrogate = cp;
            } else if (is_surrogate_second(cp) || !valid_codepoint(cp)) {
                return std::nullopt;
            } else {
                append_utf8(out.body, cp);
            }
            continue;
        }
        out.body.push_back(e);  // \\, \', and any other character stands for itself
        j += 2;
    }
    if (saw_non_ascii && (out.body.find('\0') != std::string::npos || !valid_utf8(out.body))) {
        return std::nullopt;
    }
    return out;
}

// str_udeescape() of PostgreSQL's parser.c.
std::optional<std::string> unicode_unescape(std::string_view in, char escape) {
    std::string out;
    std::uint32_t pending = 0;
    std::size_t i = 0;
    const auto take = [&](std::uint32_t cp) {
        if (pending != 0) {
            if (!is_surrogate_second(cp)) return false;
            append_utf8(out, surrogate_pair(pending, cp));
            pending = 0;
            return true;
        }
        if (is_surrogate_first(cp)) {
            pending = cp;
            return true;
        }
        if (is_surrogate_second(cp) || !valid_codepoint(cp)) return false;
        append_utf8(out, cp);
        return true;
    };
    while (i < in.size()) {
        if (in[i] != escape) {
            if (pending != 0) return std::nullopt;
            out.push_back(in[i++]);
            continue;
        }
        if (i + 1 < in.size() && in[i + 1] == escape) {
            if (pending != 0) return std::nullopt;
            out.push_back(escape);
            i += 2;
            continue;
        }
        std::size_t digits = 0;
        std::size_t start = i + 1;
        if (i + 4 < in.size() && is_hex(in[i + 1]) && is_hex(in[i + 2]) && is_hex(in[i + 3]) &&
            is_hex(in[i + 4])) {
            digits = 4;
        } else if (i + 7 < in.size() && in[i + 1] == '+') {
            start = i + 2;
            digits = 6;
            for (std::size_t k = 0; k < 6; ++k) {
                if (!is_hex(in[start + k])) digits = 0;
            }
        }
        if (digits == 0) return std::nullopt;
        if (!take(hex_value(in.substr(start, digits)))) return std::nullopt;
        i = start + digits;
    }
    if (pending != 0) return std::nullopt;
    return out;
}

}  // namespace

bool lex_postgres(std::string_view sql, std::vector<Token>& out, LexOptions options) {
    out.clear();
    const Lexer lx{sql, options};
    std::size_t i = 0;
    while (true) {
        std::size_t k = 0;
        const std::size_t start = lx.skip_ignorable(i, &k);
        if (start == npos) {  // an unterminated /* comment
            out.push_back({static_cast<std::uint32_t>(k),
                           static_cast<std::uint32_t>(sql.size() - k), TokenKind::invalid});
            return false;
        }
        if (start >= sql.size()) return true;
        TokenKind kind = TokenKind::invalid;
        const std::size_t end = lx.lex_one(start, kind);
        if (end == npos) {
            out.push_back({static_cast<std::uint32_t>(start),
                           static_cast<std::uint32_t>(sql.size() - start), TokenKind::invalid});
            return false;
        }
        out.push_back(
            {static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(end - start), kind});
        i = end;
    }
}

bool is_string_kind(TokenKind k) {
    return k == TokenKind::string || k == TokenKind::escape_string ||
           k == TokenKind::unicode_string || k == TokenKind::dollar_string;
}

bool is_literal_kind(TokenKind k) {
    return is_string_kind(k) || k == TokenKind::bit_string || k == TokenKind::hex_string ||
           k == TokenKind::integer || k == TokenKind::numeric;
}

bool is_word(std::string_view sql, const Token& t, std::string_view lower_word) {
    if (t.kind != TokenKind::identifier || t.length != lower_word.size()) return false;
    for (std::size_t i = 0; i < lower_word.size(); ++i) {
        if (lower(sql[t.offset + i]) != lower_word[i]) return false;
    }
    return true;
}

bool is_symbol(std::string_view sql, const Token& t, std::string_view text) {
    return (t.kind == TokenKind::punctuation || t.kind == TokenKind::operator_) &&
           token_text(sql, t) == text;
}

std::optional<std::string> decode_string_token(std::string_view t, TokenKind kind,
                                               LexOptions options) {
    switch (kind) {
        case TokenKind::string: {
            if (t.empty() || t[0] != '\'') return std::nullopt;
            auto seg = read_segments(t, 0, !options.standard_conforming_strings);
            if (!seg || seg->end != t.size()) return std::nullopt;
            return std::move(seg->body);
        }
        case TokenKind::escape_string: {
            if (t.size() < 2 || t[1] != '\'') return std::nullopt;
            auto seg = read_segments(t, 1, true);
            if (!seg || seg->end != t.size()) return std::nullopt;
            return std::move(seg->body);
        }
        case TokenKind::unicode_string: {
            if (t.size() < 3 || t[2] != '\'') return std::nullopt;
            auto seg = read_segments(t, 2, false);
            if (!seg) return std::nullopt;
            char escape = '\\';
            if (seg->end != t.size()) {  // UESCAPE 'c'
                const Lexer lx{t, {}};
                std::size_t k = lx.skip_ignorable(seg->end);
                if (k == npos || k + 7 > t.size()) return std::nullopt;
                k = lx.skip_ignorable(k + 7);
                if (k == npos || lx.at(k) != '\'') return std::nullopt;
                auto esc = read_segments(t, k, false);
                if (!esc || esc->end != t.size() || esc->body.size() != 1) return std::nullopt;
                escape = esc->body[0];
                if (is_hex(escape) || escape == '+' || escape == '\'' || escape == '"' ||
                    is_space(escape)) {
                    return std::nullopt;
                }
            }
            return unicode_unescape(seg->body, escape);
        }
        case TokenKind::dollar_string: {
            const std::size_t close_of_tag = t.find('$', 1);
            if (t.empty() || t[0] != '$' || close_of_tag == npos) return std::nullopt;
            const std::size_t tag_len = close_of_tag + 1;
            if (t.size() < 2 * tag_len) return std::nullopt;
            return std::string(t.substr(tag_len, t.size() - 2 * tag_len));
        }
        default:
            return std::nullopt;
    }
}

}  // namespace uniqguard::sql
