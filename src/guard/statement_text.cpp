#include "guard/statement_text.hpp"

#include <xxhash.h>

#include <vector>

namespace uniqguard::guard {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_word_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
           c == '$' || u >= 0x80;
}
bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// What separates two tokens, once its comments are taken out.
struct Gap {
    std::string whitespace;
    bool had_comment = false;
    void clear() {
        whitespace.clear();
        had_comment = false;
    }
};

// Writes a gap before a token (`inner`: a token was written before it) or after the last one.
// A gap without comments is written as it was. Without its comments, a gap at either end goes
// entirely, and an inner one keeps its whitespace, or one space to keep its tokens apart.
void emit_gap(std::string& out, const Gap& gap, bool inner) {
    if (!gap.had_comment) {
        out += gap.whitespace;
    } else if (inner) {
        out += gap.whitespace.empty() ? std::string_view(" ") : std::string_view(gap.whitespace);
    }
}

void emit_unread_tail(std::string& out) {
    if (!out.empty()) out += ' ';
    out += kUnreadTail;
}

// A PostgreSQL gap: the lexer guarantees it holds only whitespace and complete comments
// (nested /* */, and -- up to the end of the line).
void read_pg_gap(std::string_view text, Gap& gap) {
    gap.clear();
    std::size_t i = 0;
    while (i < text.size()) {
        const char c = text[i];
        const char next = i + 1 < text.size() ? text[i + 1] : '\0';
        if (c == '-' && next == '-') {
            gap.had_comment = true;
            while (i < text.size() && text[i] != '\n' && text[i] != '\r') ++i;
        } else if (c == '/' && next == '*') {
            gap.had_comment = true;
            int depth = 0;
            while (i < text.size()) {
                if (text[i] == '/' && i + 1 < text.size() && text[i + 1] == '*') {
                    ++depth;
                    i += 2;
                } else if (text[i] == '*' && i + 1 < text.size() && text[i + 1] == '/') {
                    i += 2;
                    if (--depth == 0) break;
                } else {
                    ++i;
                }
            }
        } else {
            gap.whitespace.push_back(c);
            ++i;
        }
    }
}

// The MySQL scanner's state: the text, where it is, and the output built so far.
class MysqlNormalizer {
  public:
    MysqlNormalizer(std::string_view sql, bool no_backslash_escapes)
        : s_(sql), backslash_escapes_(!no_backslash_escapes) {}

    std::string run() {
        out_.reserve(s_.size());
        while (i_ < s_.size()) {
            if (!step()) {
                emit_unread_tail(out_);
                return std::move(out_);
            }
        }
        emit_gap(out_, gap_, false);  // after the last token
        return std::move(out_);
    }

  private:
    char at(std::size_t k) const { return k < s_.size() ? s_[k] : '\0'; }

    void token(std::string_view text) {
        emit_gap(out_, gap_, wrote_token_);
        gap_.clear();
        out_ += text;
        wrote_token_ = true;
    }

    // One piece at i_: whitespace, a comment or a token. False when it cannot be read to its end.
    bool step() {
        const char c = s_[i_];
        const char c1 = at(i_ + 1);
        if (is_space(c)) {
            gap_.whitespace.push_back(c);
            ++i_;
            return true;
        }
        // `#` and `-- ` (the dashes followed by a space or control character, or the end).
        if (c == '#' || (c == '-' && c1 == '-' &&
                         (i_ + 2 >= s_.size() || is_space(at(i_ + 2)) ||
                          static_cast<unsigned char>(at(i_ + 2)) < 0x20))) {
            gap_.had_comment = true;
            while (i_ < s_.size() && s_[i_] != '\n' && s_[i_] != '\r') ++i_;
            return true;
        }
        if (c == '/' && c1 == '*') return comment();
        if (c == '*' && c1 == '/' && in_executable_comment_) {
            in_executable_comment_ = false;
            token("*/");
            i_ += 2;
            return true;
        }
        if (c == '\'' || c == '"') return quoted_literal(i_);
        if (c == '`') return backquoted_identifier();
        if (is_digit(c) || (c == '.' && is_digit(c1))) {
            number();
            return true;
        }
        if (is_word_char(c)) return word();
        token(s_.substr(i_, 1));  // operators, punctuation, `?`, `@`
        ++i_;
        return true;
    }

    bool comment() {
        const bool mariadb = at(i_ + 2) == 'M' && at(i_ + 3) == '!';
        if ((at(i_ + 2) == '!' || mariadb) && !in_executable_comment_) {
            // /*!50700 … */: the server runs the body. Keep the opener and version number.
            std::size_t k = i_ + (mariadb ? 4 : 3);
            while (is_digit(at(k))) ++k;
            token(s_.substr(i_, k - i_));
            in_executable_comment_ = true;
            i_ = k;
            return true;
        }
        const std::size_t close = s_.find("*/", i_ + 2);
        if (close == std::string_view::npos) return false;
        gap_.had_comment = true;
        i_ = close + 2;
        return true;
    }

    // Returns the end of the quoted text starting at q, or npos.
    std::size_t quoted_end(std::size_t q, bool escapes) const {
        const char quote = s_[q];
        std::size_t j = q + 1;
        while (j < s_.size()) {
            const char c = s_[j];
            if (escapes && c == '\\') {
                j += 2;
                continue;
            }
            if (c == quote) {
                if (at(j + 1) == quote) {
                    j += 2;
                    continue;
                }
                return j + 1;
            }
            ++j;
        }
        return std::string_view::npos;
    }

    bool quoted_literal(std::size_t q) {
        const std::size_t end = quoted_end(q, backslash_escapes_);
        if (end == std::string_view::npos) return false;
        token("?");
        i_ = end;
        return true;
    }

    bool backquoted_identifier() {
        const std::size_t end = quoted_end(i_, false);
        if (end == std::string_view::npos) return false;
        token(s_.substr(i_, end - i_));
        i_ = end;
        return true;
    }

    // 12, 1.5, .5, 1e-3, 0x1F, 0b01, and identifiers that start with a digit: all masked.
    void number() {
        std::size_t k = i_;
        while (is_digit(at(k))) ++k;
        if (at(k) == '.') {
            ++k;
            while (is_digit(at(k))) ++k;
        }
        if ((at(k) == 'e' || at(k) == 'E') &&
            (is_digit(at(k + 1)) ||
             ((at(k + 1) == '+' || at(k + 1) == '-') && is_digit(at(k + 2))))) {
            k += 2;
            while (is_digit(at(k))) ++k;
        }
        while (is_word_char(at(k))) ++k;
        token("?");
        i_ = k;
    }

    bool word() {
        std::size_t k = i_;
        while (is_word_char(at(k))) ++k;
        const std::string_view w = s_.substr(i_, k - i_);
        if (w.size() == 1 && at(k) == '\'' &&
            (w[0] == 'x' || w[0] == 'X' || w[0] == 'b' || w[0] == 'B')) {
            // x'1F', b'01': hex and bit literals, their prefix included.
            const std::size_t end = quoted_end(k, false);
            if (end == std::string_view::npos) return false;
            token("?");
            i_ = end;
            return true;
        }
        // _utf8mb4'x' and N'x': the introducer stays, the string follows as a token of its own.
        token(w);
        i_ = k;
        return true;
    }

    std::string_view s_;
    bool backslash_escapes_;
    std::size_t i_ = 0;
    std::string out_;
    Gap gap_;
    bool wrote_token_ = false;
    bool in_executable_comment_ = false;
};

// Length of the UTF-8 sequence starting at s[i] if it is well formed, else 0.
std::size_t valid_sequence_length(std::string_view s, std::size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) return 1;
    std::size_t n;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        if (!is_continuation(s[i + k])) return 0;
        cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return n;
}

std::size_t sequence_length_from_lead(char lead) {
    const auto c = static_cast<unsigned char>(lead);
    if ((c & 0xE0) == 0xC0) return 2;
    if ((c & 0xF0) == 0xE0) return 3;
    if ((c & 0xF8) == 0xF0) return 4;
    return 1;
}

}  // namespace

std::string normalize_statement_text(std::string_view sql, sql::LexOptions options) {
    std::vector<sql::Token> tokens;
    const bool complete = sql::lex_postgres(sql, tokens, options);
    // Without `complete`, the last token is the `invalid` one that runs to the end.
    const std::size_t readable = complete ? tokens.size() : tokens.size() - 1;
    std::string out;
    out.reserve(sql.size());
    Gap gap;
    std::size_t prev_end = 0;
    for (std::size_t i = 0; i < readable; ++i) {
        const sql::Token& t = tokens[i];
        read_pg_gap(sql.substr(prev_end, t.offset - prev_end), gap);
        emit_gap(out, gap, i > 0);
        if (sql::is_literal_kind(t.kind)) {
            out += '?';
        } else {
            out += sql::token_text(sql, t);
        }
        prev_end = t.end();
    }
    if (!complete) {
        emit_unread_tail(out);
        return out;
    }
    read_pg_gap(sql.substr(prev_end), gap);
    emit_gap(out, gap, false);
    return out;
}

std::string normalize_mysql_statement_text(std::string_view sql, bool no_backslash_escapes) {
    return MysqlNormalizer(sql, no_backslash_escapes).run();
}

std::uint64_t statement_fingerprint(std::string_view normalized) {
    return XXH3_64bits(normalized.data(), normalized.size());
}

std::string fingerprint_hex(std::uint64_t fingerprint) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 15; i >= 0; --i) {
        out[static_cast<std::size_t>(i)] = kDigits[fingerprint & 0xF];
        fingerprint >>= 4;
    }
    return out;
}

std::size_t utf8_prefix_length(std::string_view text, std::size_t max_bytes) {
    if (text.size() <= max_bytes) return text.size();
    if (!is_continuation(text[max_bytes])) return max_bytes;  // a character starts there
    std::size_t k = max_bytes;
    while (k > 0 && max_bytes - k < 3 && is_continuation(text[k])) --k;
    // A lead byte whose character reaches past the cut: cut before it. Anything else (a run of
    // stray continuation bytes) is invalid already and may be cut anywhere.
    if (is_continuation(text[k])) return max_bytes;
    return k + sequence_length_from_lead(text[k]) > max_bytes ? k : max_bytes;
}

std::string to_valid_utf8(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const std::size_t n = valid_sequence_length(text, i);
        if (n == 0) {
            out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
            ++i;
        } else {
            out.append(text.substr(i, n));
            i += n;
        }
    }
    return out;
}

}  // namespace uniqguard::guard
