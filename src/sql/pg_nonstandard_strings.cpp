#include "sql/pg_nonstandard_strings.hpp"

#include <vector>

#include "sql/pg_lexer.hpp"

namespace uniqguard::sql {

std::optional<std::string> mask_backslash_strings(std::string_view sql) {
    if (sql.find('\\') == std::string_view::npos) return std::nullopt;
    std::vector<Token> tokens;
    lex_postgres(sql, tokens, {.standard_conforming_strings = false});
    std::optional<std::string> masked;
    for (const auto& t : tokens) {
        if (t.kind != TokenKind::string) continue;
        const std::string_view body = token_text(sql, t);
        if (body.find('\\') == std::string_view::npos) continue;
        if (!masked) masked.emplace(sql);
        // Between the first and the last byte (the quotes): a string continued on another line
        // ('a'\n'b') has quotes inside, masked too; the whole stays one string token.
        for (std::size_t i = t.offset + 1; i + 1 < t.end(); ++i) {
            char& c = (*masked)[i];
            if (c == '\\' || c == '\'') c = '_';
        }
    }
    return masked;
}

}  // namespace uniqguard::sql
