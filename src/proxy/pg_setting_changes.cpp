#include "proxy/pg_setting_changes.hpp"

#include <cctype>
#include <string>
#include <vector>

#include "sql/pg_lexer.hpp"
#include "util/ascii_search.hpp"

namespace uniqguard::proxy {

namespace {
// A name at tokens[i], folded (a quoted one too: setting names are compared ignoring case).
std::string folded_name(std::string_view sql, const std::vector<sql::Token>& tokens,
                        std::size_t i) {
    if (i >= tokens.size()) return {};
    std::string_view t = sql::token_text(sql, tokens[i]);
    if (tokens[i].kind == sql::TokenKind::quoted_identifier && t.size() >= 2 && t[0] == '"')
        t = t.substr(1, t.size() - 2);
    else if (tokens[i].kind != sql::TokenKind::identifier)
        return {};
    std::string out(t);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool is_read_setting(std::string_view name) {
    return name == "standard_conforming_strings" || name == "client_encoding" ||
           name == "timezone" || name == "datestyle";
}

// Words that name one of the settings anywhere in a text (a DO block's body).
bool names_a_read_setting(std::string_view text) {
    for (std::string_view w : {"standard_conforming_strings", "client_encoding", "timezone",
                               "time zone", "datestyle", "names", "set_config", "discard", "reset"})
        if (util::contains_ignoring_case(text, w)) return true;
    return false;
}

// The statement beginning at tokens[i] changes one of the settings.
bool statement_changes(std::string_view sql, const std::vector<sql::Token>& tokens, std::size_t i) {
    const std::string verb = folded_name(sql, tokens, i);
    if (verb == "discard") return true;  // DISCARD ALL resets every setting
    if (verb == "do") {
        for (std::size_t k = i + 1; k < tokens.size() && !sql::is_symbol(sql, tokens[k], ";"); ++k)
            if (sql::is_string_kind(tokens[k].kind) &&
                names_a_read_setting(sql::token_text(sql, tokens[k])))
                return true;
        return false;
    }
    if (verb != "set" && verb != "reset") return false;
    std::size_t k = i + 1;
    std::string name = folded_name(sql, tokens, k);
    if (name == "session" || name == "local") name = folded_name(sql, tokens, ++k);
    if (verb == "reset" && name == "all") return true;
    if (name == "names") return true;  // SET NAMES: client_encoding
    if (name == "time" && folded_name(sql, tokens, k + 1) == "zone") return true;
    return is_read_setting(name);
}
// Whether `sql` holds "set" or "discard" in any letter case: one pass, as every Query and
// Parse is asked.
bool has_set_or_discard(std::string_view sql, bool& discard) {
    auto lower = [&](std::size_t i) {
        const char c = sql[i];
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    };
    auto word_at = [&](std::size_t i, std::string_view w) {
        if (i + w.size() > sql.size()) return false;
        for (std::size_t k = 1; k < w.size(); ++k)
            if (lower(i + k) != w[k]) return false;
        return true;
    };
    bool set = false;
    for (std::size_t i = 0; i < sql.size(); ++i) {
        const char c = lower(i);
        if (c == 's' && !set) set = word_at(i, "set");
        if (c == 'd' && word_at(i, "discard")) {
            discard = true;
            return true;
        }
    }
    return set;
}
}  // namespace

bool may_change_read_settings(std::string_view sql) {
    // Most texts are ruled out by one pass, without a lexer.
    bool discard = false;
    if (!has_set_or_discard(sql, discard)) return false;
    if (!discard && !util::contains_ignoring_case(sql, "set_config") &&
        !util::contains_ignoring_case(sql, "conforming") &&
        !util::contains_ignoring_case(sql, "encoding") &&
        !util::contains_ignoring_case(sql, "zone") &&
        !util::contains_ignoring_case(sql, "datestyle") &&
        !util::contains_ignoring_case(sql, "names") && !util::contains_ignoring_case(sql, "reset"))
        return false;
    std::vector<sql::Token> tokens;
    // The session's standard_conforming_strings is not known for sure here (that is the point):
    // a text either way reads as statements the same way unless a string holds a backslash
    // before a quote, and then both readings are tried.
    for (bool standard : {true, false}) {
        sql::lex_postgres(sql, tokens, {.standard_conforming_strings = standard});
        bool at_start = true;
        int depth = 0;
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            if (folded_name(sql, tokens, i) == "set_config" && i + 1 < tokens.size() &&
                sql::is_symbol(sql, tokens[i + 1], "(")) {
                // set_config('app.tenant', …) (row-level security's way) changes none of them;
                // a name the proxy cannot read might.
                if (i + 2 >= tokens.size() || !sql::is_string_kind(tokens[i + 2].kind)) return true;
                const auto name = sql::decode_string_token(
                    sql::token_text(sql, tokens[i + 2]), tokens[i + 2].kind,
                    {.standard_conforming_strings = standard});
                if (!name) return true;
                std::string folded(*name);
                for (char& c : folded)
                    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                if (is_read_setting(folded)) return true;
            }
            if (sql::is_symbol(sql, tokens[i], "(")) ++depth;
            if (sql::is_symbol(sql, tokens[i], ")")) --depth;
            if (at_start && statement_changes(sql, tokens, i)) return true;
            at_start = depth == 0 && sql::is_symbol(sql, tokens[i], ";");
        }
        if (sql.find('\\') == std::string_view::npos) break;
    }
    return false;
}

bool may_end_transaction(std::string_view sql) {
    std::vector<sql::Token> tokens;
    sql::lex_postgres(sql, tokens);
    bool at_start = true;
    int depth = 0;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        if (at_start) {
            const std::string verb = folded_name(sql, tokens, i);
            if (verb == "commit" || verb == "end" || verb == "rollback" || verb == "abort" ||
                (verb == "prepare" && folded_name(sql, tokens, i + 1) == "transaction"))
                return true;
        }
        if (sql::is_symbol(sql, tokens[i], "(")) ++depth;
        if (sql::is_symbol(sql, tokens[i], ")")) --depth;
        at_start = depth == 0 && sql::is_symbol(sql, tokens[i], ";");
    }
    return false;
}

}  // namespace uniqguard::proxy
