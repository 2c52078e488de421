#include "proxy/pg_sql_prepared.hpp"

#include <algorithm>
#include <cctype>

#include "util/ascii_search.hpp"

namespace uniqguard::proxy {

namespace {

// The server keeps NAMEDATALEN - 1 bytes of a name, cut at a character boundary
// (truncate_identifier: pg_mbcliplen): two spellings that agree that far are one statement.
constexpr std::size_t max_name_bytes = 63;

void cut_name(std::string& name) {
    if (name.size() <= max_name_bytes) return;
    std::size_t cut = max_name_bytes;
    // (UTF-8: a byte 10xxxxxx continues the character before it)
    while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
    name.resize(cut);
}

// A statement name as the server reads it; "" when the token is no name the proxy can read
// (U&"…", a keyword-like token the lexer did not make an identifier).
std::string folded_name(std::string_view text, const sql::Token& t) {
    std::string name(sql::token_text(text, t));
    if (t.kind == sql::TokenKind::identifier) {
        // The server lowers ASCII letters only (downcase_identifier, multibyte encodings).
        for (char& c : name)
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    } else if (t.kind == sql::TokenKind::quoted_identifier && name.size() >= 2 &&
               name.front() == '"') {
        std::string unquoted;
        for (std::size_t k = 1; k + 1 < name.size(); ++k) {
            unquoted += name[k];
            if (name[k] == '"') ++k;
        }
        name = std::move(unquoted);
    } else {
        return {};
    }
    cut_name(name);
    return name;
}

}  // namespace

std::optional<PrepareText> read_prepare(std::string_view text, sql::LexOptions lex) {
    std::vector<sql::Token> tokens;
    sql::lex_postgres(text, tokens, lex);
    if (tokens.size() < 4 || !sql::is_word(text, tokens[0], "prepare")) return std::nullopt;
    // PREPARE TRANSACTION 'gid' is another statement.
    if (sql::is_word(text, tokens[1], "transaction") &&
        tokens[2].kind != sql::TokenKind::identifier)
        return std::nullopt;
    PrepareText p{.name = folded_name(text, tokens[1])};
    if (p.name.empty()) return std::nullopt;
    std::size_t i = 2;
    if (sql::is_symbol(text, tokens[i], "(")) {
        int depth = 0;
        for (; i < tokens.size(); ++i) {
            if (sql::is_symbol(text, tokens[i], "(")) ++depth;
            if (sql::is_symbol(text, tokens[i], ")") && --depth == 0) break;
        }
        ++i;
    }
    if (i + 1 >= tokens.size() || !sql::is_word(text, tokens[i], "as")) return std::nullopt;
    p.body_offset = tokens[i + 1].offset;
    return p;
}

std::optional<std::string> read_execute_name(std::string_view text, sql::LexOptions lex) {
    std::vector<sql::Token> tokens;
    sql::lex_postgres(text, tokens, lex);
    std::size_t i = 0;
    if (i < tokens.size() && sql::is_word(text, tokens[i], "explain")) {
        ++i;
        if (i < tokens.size() && sql::is_symbol(text, tokens[i], "(")) {
            int depth = 0;
            for (; i < tokens.size(); ++i) {
                if (sql::is_symbol(text, tokens[i], "(")) ++depth;
                if (sql::is_symbol(text, tokens[i], ")") && --depth == 0) break;
            }
            ++i;
        }
        while (i < tokens.size() && (sql::is_word(text, tokens[i], "analyze") ||
                                     sql::is_word(text, tokens[i], "analyse") ||
                                     sql::is_word(text, tokens[i], "verbose")))
            ++i;
    }
    if (i + 1 >= tokens.size() || !sql::is_word(text, tokens[i], "execute")) return std::nullopt;
    return folded_name(text, tokens[i + 1]);
}

namespace {

void collect_names_after_execute(std::string_view text, sql::LexOptions lex, int depth,
                                 std::vector<std::string>& names) {
    std::vector<sql::Token> tokens;
    sql::lex_postgres(text, tokens, lex);
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const auto& t = tokens[i];
        if (sql::is_word(text, t, "execute") && i + 1 < tokens.size() &&
            (tokens[i + 1].kind == sql::TokenKind::identifier ||
             tokens[i + 1].kind == sql::TokenKind::quoted_identifier))
            names.push_back(folded_name(text, tokens[i + 1]));  // "": U&"…"
        // A string may hold SQL that runs (a DO block's body, PL/pgSQL's dynamic EXECUTE
        // '…'): read as text again, its strings too, a few levels down.
        if (!sql::is_string_kind(t.kind) || depth >= 4) continue;
        const auto spelled = sql::token_text(text, t);
        auto inner = sql::decode_string_token(spelled, t.kind, lex);
        if (!inner) {
            if (util::contains_ignoring_case(spelled, "execute")) names.emplace_back();
            continue;
        }
        if (util::contains_ignoring_case(*inner, "execute"))
            collect_names_after_execute(*inner, sql::LexOptions{}, depth + 1, names);
    }
}

}  // namespace

std::vector<std::string> names_after_execute(std::string_view text, sql::LexOptions lex) {
    std::vector<std::string> names;
    collect_names_after_execute(text, lex, 0, names);
    return names;
}

bool SqlPreparedWrites::add(const std::string& name, std::string_view sql, bool standard_strings) {
    auto& kept = bodies_[name];
    const Body body{std::string(sql), standard_strings};
    if (std::find(kept.begin(), kept.end(), body) != kept.end()) return true;
    const std::size_t cost = sql.size() + (kept.empty() ? name.size() : 0);
    if (kept.size() >= max_bodies_per_name || bytes_ + cost > max_bytes) {
        if (kept.empty()) bodies_.erase(name);
        return false;
    }
    bytes_ += cost;
    kept.push_back(body);
    return true;
}

const std::vector<SqlPreparedWrites::Body>* SqlPreparedWrites::bodies(
    const std::string& name) const {
    auto it = bodies_.find(name);
    return it == bodies_.end() ? nullptr : &it->second;
}

}  // namespace uniqguard::proxy
