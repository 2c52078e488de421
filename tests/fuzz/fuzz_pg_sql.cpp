// Fuzzes the PostgreSQL side of the SQL layer with the same text: our lexer (pg_lexer: tokens in
// order and inside the text), the literal shape of a statement (literal_shape), and the parser
// adapter over libpg_query (postgres_parser: every statement and value range inside the text).
// Parameter numbers are not checked: PostgreSQL 15's scanner reads `$21474836471` with atol
// into an int, so any number can come out ($0 and negative ones included); the guard treats a
// number outside its Bind's parameters as the server's error to report.
#include <cstddef>
#include <cstdint>
#include <limits>
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
        for (const Statement& st : r.statements)
            check_statement(st, size, std::numeric_limits<int>::min());
    }
    (void)literal_shape(sql);
    return 0;
}
