// What a SQL parser returns, whichever the dialect: the statements of one string, or the error
// that stopped it (postgres_parser.hpp, mysql_parser.hpp).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "sql/statement.hpp"

namespace uniqguard::sql {

struct ParseError {
    // PostgreSQL: the server's wording (`syntax error at or near "VALUES"`); MySQL: ours
    // (`unterminated string literal`), since the parser reports only what stops its lexer.
    std::string message;
    // PostgreSQL: as the server reports it in an ErrorResponse `P` field: 1-based, in
    // characters; 0 = none. MySQL: always 0.
    int cursor = 0;
    // The same position as a 0-based byte offset into the parsed string; npos when none.
    std::size_t offset = SourceRange::npos;
};

// Exactly one of statements / error is meaningful: on error, `statements` is empty.
struct ParseResult {
    std::vector<Statement> statements;
    std::optional<ParseError> error;
    explicit operator bool() const { return !error.has_value(); }
};

}  // namespace uniqguard::sql
