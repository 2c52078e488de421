#include "sql/literal_shape.hpp"

#include <algorithm>
#include <charconv>

namespace uniqguard::sql {
namespace {

// The server's strtoint(): does this run of digits fit an int32 (an ICONST), or does the lexer
// turn it into a numeric constant (FCONST)?
bool fits_int32(std::string_view digits) {
    std::size_t i = 0;
    while (i + 1 < digits.size() && digits[i] == '0') ++i;
    digits.remove_prefix(i);
    if (digits.size() > 10) return false;
    if (digits.size() < 10) return true;
    return digits <= "2147483647";
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

constexpr std::size_t npos = static_cast<std::size_t>(-1);

std::size_t index_starting_at(const std::vector<Token>& tokens, std::size_t offset) {
    const auto it = std::lower_bound(tokens.begin(), tokens.end(), offset,
                                     [](const Token& t, std::size_t o) { return t.offset < o; });
    return (it != tokens.end() && it->offset == offset)
               ? static_cast<std::size_t>(it - tokens.begin())
               : npos;
}

std::size_t index_ending_at(const std::vector<Token>& tokens, std::size_t end) {
    const auto it = std::lower_bound(tokens.begin(), tokens.end(), end,
                                     [](const Token& t, std::size_t e) { return t.end() < e; });
    return (it != tokens.end() && it->end() == end) ? static_cast<std::size_t>(it - tokens.begin())
                                                    : npos;
}

// Moves ranges and re-reads values from text `from` to text `to` of the same shape.
class Rebinder {
  public:
    Rebinder(const LiteralShape& from, std::string_view sql, const LiteralShape& to)
        : from_(from), sql_(sql), to_(to) {}

    bool move(SourceRange& r) const {
        if (!r.known()) return true;
        const std::size_t i = index_starting_at(from_.tokens, r.offset);
        const std::size_t j = index_ending_at(from_.tokens, r.end());
        if (i == npos || j == npos) return false;
        r.offset = to_.tokens[i].offset;
        r.length = to_.tokens[j].end() - r.offset;
        return true;
    }

    // A statement's raw range runs from the end of the previous `;` (or 0) to the start of its
    // own `;` (or the end of the text).
    bool move_statement(SourceRange& r) const {
        std::size_t start = 0;
        if (r.offset != 0) {
            const std::size_t j = index_ending_at(from_.tokens, r.offset);
            if (j == npos) return false;
            start = to_.tokens[j].end();
        }
        std::size_t end = to_.source_size;
        if (r.end() != from_.source_size) {
            const std::size_t i = index_starting_at(from_.tokens, r.end());
            if (i == npos) return false;
            end = to_.tokens[i].offset;
        }
        if (end < start) return false;
        r = {start, end - start};
        return true;
    }

    bool value(Value& v) const {
        if (!move(v.range) || !move(v.literal)) return false;
        for (const TypeRef& t : v.casts) {
            if (!t.typmods.empty()) return false;  // numeric(10,2): literals we do not re-read
        }
        if (v.kind != ValueKind::literal_string && v.kind != ValueKind::literal_number) return true;
        if (!v.literal.known()) return false;
        const std::size_t i = index_starting_at(to_.tokens, v.literal.offset);
        const std::size_t j = index_ending_at(to_.tokens, v.literal.end());
        if (i == npos || j == npos) return false;
        if (v.kind == ValueKind::literal_string && i == j &&
            (to_.tokens[i].kind == TokenKind::identifier ||
             to_.tokens[i].kind == TokenKind::quoted_identifier)) {
            return true;  // a word read as a string (SET x = on): part of the key
        }
        return read_literal(sql_, to_, v.kind, {i, j}, v.text);
    }

    bool assignments(std::vector<Assignment>& list) const {
        for (Assignment& a : list) {
            if (!move(a.target) || !value(a.value)) return false;
        }
        return true;
    }

    bool body(InsertStatement& s) const {
        for (auto& row : s.rows) {
            for (Value& v : row) {
                if (!value(v)) return false;
            }
        }
        return assignments(s.on_conflict.assignments) && move(s.returning_list);
    }
    bool body(UpdateStatement& s) const {
        return assignments(s.assignments) && move(s.where) && move(s.returning_list);
    }
    bool body(DeleteStatement& s) const { return move(s.where) && move(s.returning_list); }
    bool body(SetStatement& s) const {
        for (Value& v : s.values) {
            if (!value(v)) return false;
        }
        if (s.kind == SetStatement::Kind::set_value) s.value = flatten_set_value(s.name, s.values);
        return true;
    }
    bool body(TransactionStatement& s) const {
        using K = TransactionStatement::Kind;
        return s.kind != K::prepare && s.kind != K::commit_prepared &&
               s.kind != K::rollback_prepared;
    }
    bool body(CopyStatement&) const { return false; }
    bool body(OtherStatement& s) const { return s.node != "explain_stmt"; }
    template <class T>
    bool body(T&) const {
        return true;  // names only: nothing read from a literal
    }

    bool statement(Statement& s) const {
        if (s.explain_analyze) return false;
        if (!move_statement(s.range) || !move(s.trimmed)) return false;
        return std::visit([this](auto& b) { return body(b); }, s.body);
    }

  private:
    const LiteralShape& from_;
    std::string_view sql_;
    const LiteralShape& to_;
};

}  // namespace

void literal_shape(std::string_view sql, LiteralShape& out, LexOptions options) {
    out.key.clear();
    out.literals.clear();
    out.source_size = sql.size();
    out.options = options;
    out.ok = lex_postgres(sql, out.tokens, options);
    out.key.reserve(sql.size() + 8);
    for (const Token& t : out.tokens) {
        if (!out.key.empty()) out.key.push_back(' ');
        const std::string_view text = token_text(sql, t);
        switch (t.kind) {
            case TokenKind::string:
            case TokenKind::escape_string:
            case TokenKind::unicode_string:
            case TokenKind::dollar_string:
                out.key += "?s";
                break;
            case TokenKind::bit_string:
            case TokenKind::hex_string:
                out.key += "?b";
                break;
            case TokenKind::integer:
                out.key += fits_int32(text) ? "?i" : "?n";
                break;
            case TokenKind::numeric:
                out.key += "?n";
                break;
            case TokenKind::identifier:
                for (char c : text) out.key.push_back(ascii_lower(c));
                break;
            case TokenKind::national_prefix:
                out.key += "<N>";
                break;
            default:
                out.key += text;
                break;
        }
        if (is_literal_kind(t.kind)) out.literals.push_back({t.offset, t.length, t.kind});
    }
}

std::optional<LiteralTokens> literal_tokens(const LiteralShape& shape, SourceRange range) {
    if (!range.known()) return std::nullopt;
    const std::size_t i = index_starting_at(shape.tokens, range.offset);
    const std::size_t j = index_ending_at(shape.tokens, range.end());
    if (i == npos || j == npos || j < i) return std::nullopt;
    return LiteralTokens{i, j};
}

bool read_literal(std::string_view sql, const LiteralShape& shape, ValueKind kind, LiteralTokens at,
                  std::string& out) {
    std::size_t i = at.first;
    const std::size_t j = at.last;
    if (j >= shape.tokens.size() || i > j) return false;
    if (kind == ValueKind::literal_string) {
        if (i != j) return false;
        const Token& t = shape.tokens[i];
        auto text = decode_string_token(token_text(sql, t), t.kind, shape.options);
        if (!text) return false;
        out = std::move(*text);
        return true;
    }
    if (kind != ValueKind::literal_number) return false;
    std::size_t minus = 0;
    while (i < j && is_symbol(sql, shape.tokens[i], "-")) {
        ++minus;
        ++i;
    }
    if (i != j) return false;
    const Token& t = shape.tokens[i];
    const std::string_view digits = token_text(sql, t);
    out.clear();
    if (t.kind == TokenKind::integer && fits_int32(digits)) {
        // As the server's parser reads an ICONST: leading zeros gone.
        long long n = 0;
        for (char c : digits) n = n * 10 + (c - '0');
        if (minus % 2 == 1) n = -n;
        char buffer[24];
        const auto r = std::to_chars(buffer, buffer + sizeof buffer, n);
        out.assign(buffer, r.ptr);
    } else if (t.kind == TokenKind::integer || t.kind == TokenKind::numeric) {
        if (minus % 2 == 1) out.push_back('-');
        out.append(digits);
    } else {
        return false;
    }
    return true;
}

LiteralShape literal_shape(std::string_view sql, LexOptions options) {
    LiteralShape out;
    literal_shape(sql, out, options);
    return out;
}

std::optional<std::vector<Statement>> rebind_literals(const std::vector<Statement>& cached,
                                                      const LiteralShape& cached_shape,
                                                      std::string_view sql,
                                                      const LiteralShape& shape) {
    if (!cached_shape.ok || !shape.ok || cached_shape.key != shape.key ||
        cached_shape.tokens.size() != shape.tokens.size() || shape.source_size != sql.size() ||
        cached_shape.options.standard_conforming_strings !=
            shape.options.standard_conforming_strings) {
        return std::nullopt;
    }
    const Rebinder rebinder(cached_shape, sql, shape);
    std::vector<Statement> out = cached;
    for (Statement& s : out) {
        if (!rebinder.statement(s)) return std::nullopt;
    }
    return out;
}

}  // namespace uniqguard::sql
