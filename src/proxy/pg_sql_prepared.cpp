#include "proxy/pg_sql_prepared.hpp"

#include <algorithm>

namespace uniqguard::proxy {

namespace {

// The server keeps NAMEDATALEN - 1 bytes of a name: two spellings that agree that far are one
// statement.
constexpr std::size_t max_name_bytes = 63;

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
    if (name.size() > max_name_bytes) name.resize(max_name_bytes);
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

bool SqlPreparedWrites::add(const std::string& name, std::string_view body) {
    auto& kept = bodies_[name];
    if (std::find(kept.begin(), kept.end(), body) != kept.end()) return true;
    const std::size_t cost = body.size() + (kept.empty() ? name.size() : 0);
    if (kept.size() >= max_bodies_per_name || bytes_ + cost > max_bytes) {
        if (kept.empty()) bodies_.erase(name);
        return false;
    }
    bytes_ += cost;
    kept.emplace_back(body);
    return true;
}

const std::vector<std::string>* SqlPreparedWrites::bodies(const std::string& name) const {
    auto it = bodies_.find(name);
    return it == bodies_.end() ? nullptr : &it->second;
}

}  // namespace uniqguard::proxy
