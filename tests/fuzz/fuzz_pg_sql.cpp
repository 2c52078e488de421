// Fuzzes the PostgreSQL side of the SQL layer with the same text: our lexer (pg_lexer: tokens in
// order and inside the text), the literal shape of a statement (literal_shape), and the parser
// adapter over libpg_query (postgres_parser: every statement and value range inside the text).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sql/literal_shape.hpp"
#include "sql/postgres_parser.hpp"
#include "statement_ranges.hpp"

using namespace uniqguard::sql;
using namespace uniqguard::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view sql(reinterpret_cast<const char*>(data), size);
    const ParseResult r = parse_postgres(sql);
    if (r.error) {
        check(r.statements.empty());
    } else {
        for (const Statement& st : r.statements) check_statement(st, size, 0);
    }
    (void)literal_shape(sql);
    return 0;
}
