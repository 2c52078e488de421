// Analysis of simple-query and Parse texts on the data path, cached by statement shape
// (literal_shape.hpp): ORMs that inline their values send one shape with ever new literals, and
// re-reading the literals of a cached analysis costs about a microsecond where a full parse costs
// ten to twenty. One cache per worker thread (no locks); bounded, cleared when full.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "sql/literal_shape.hpp"
#include "sql/postgres_parser.hpp"
#include "sql/statement.hpp"

namespace uniqguard::sql {

struct Analysis {
    std::vector<Statement> statements;
    std::optional<ParseError> error;  // the server will answer a syntax error itself
    bool from_cache = false;
};

// The statements of `sql`, as parse_postgres would return them.
Analysis analyse_postgres(std::string_view sql);
// The same, for a text whose shape the caller has taken already (literal_shape(sql), with the
// default options).
Analysis analyse_postgres(std::string_view sql, const LiteralShape& shape);

// Entries currently cached on this thread (for tests).
std::size_t statement_cache_size();

}  // namespace uniqguard::sql
