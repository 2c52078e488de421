// Fuzzes the MySQL lexer and parser (sql/mysql_parser.hpp). The first byte picks the dialect
// (sql_mode NO_BACKSLASH_ESCAPES and ANSI_QUOTES, MariaDB or MySQL, an old or a new server);
// the rest is the SQL. Beyond "no crash, no sanitizer report", the ranges must hold: tokens in
// order and inside the text, every statement and value range inside the text, a decoded
// literal never longer than its token, an error inside the text. The statement shape
// (sql/mysql_shape.hpp) lexes as the parser does, and a parse of its tokens is the parse.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "sql/mysql_parser.hpp"
#include "sql/mysql_shape.hpp"
#include "statement_ranges.hpp"

using namespace uniqguard::sql;
using namespace uniqguard::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    MySqlDialect dialect;
    dialect.no_backslash_escapes = (data[0] & 1) != 0;
    dialect.ansi_quotes = (data[0] & 2) != 0;
    dialect.mariadb = (data[0] & 4) == 0;
    dialect.server_version = (data[0] & 8) != 0 ? 50000 : (dialect.mariadb ? 101106 : 80036);
    const std::string_view sql(reinterpret_cast<const char*>(data + 1), size - 1);

    std::vector<MySqlToken> tokens;
    const auto error = lex_mysql(sql, dialect, tokens);
    std::size_t previous_end = 0;
    for (const MySqlToken& t : tokens) {
        check(t.offset >= previous_end && t.length > 0 && t.end() <= sql.size());
        previous_end = t.end();
        if (const auto bytes = decode_mysql_literal(token_text(sql, t), t.kind, dialect)) {
            check(bytes->size() <= t.length);
        }
    }
    if (error) check(error->offset < sql.size());

    const ParseResult r = parse_mysql(sql, dialect);
    check(r.error.has_value() == error.has_value());
    if (r.error) {
        check(r.statements.empty() && r.error->offset < sql.size());
        MySqlShape shape;
        mysql_shape(sql, dialect, "ctx", shape);
        check(!shape.ok);
        return 0;
    }
    for (const Statement& st : r.statements) check_statement(st, sql.size(), 1);

    MySqlShape shape;
    mysql_shape(sql, dialect, "ctx", shape);
    check(shape.ok && shape.tokens == tokens && !shape.key.empty());
    const ParseResult again = parse_mysql(sql, dialect, shape.tokens);
    check(!again.error && again.statements == r.statements);
    return 0;
}
