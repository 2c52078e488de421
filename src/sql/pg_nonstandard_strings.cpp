#include "sql/pg_nonstandard_strings.hpp"

#include <vector>

#include "sql/pg_lexer.hpp"

namespace uniqguard::sql {

std::optional<std::string> with_escape_string_prefixes(std::string_view sql) {
    if (sql.find('\\') == std::string_view::npos) return std::nullopt;
    std::vector<Token> tokens;
    lex_postgres(sql, tokens, {.standard_conforming_strings = false});
    std::optional<std::string> out;
    std::size_t at = 0;
    for (const auto& t : tokens) {
        if (t.kind != TokenKind::string) continue;
        if (token_text(sql, t).find('\\') == std::string_view::npos) continue;
        if (!out) out.emplace();
        out->append(sql.substr(at, t.offset - at));
        *out += 'E';
        at = t.offset;
    }
    if (out) out->append(sql.substr(at));
    return out;
}

}  // namespace uniqguard::sql
