// The MySQL parser's entry point: lex the whole string, cut it at `;` tokens, hand each
// statement to its reader (src/sql/mysql/read_*.cpp) by its first word.
#include "sql/mysql_parser.hpp"

#include "mysql/parse_context.hpp"

namespace uniqguard::sql {
namespace {

using mysql::Context;

Statement::Body read_statement(const Context& ctx, bool& explain_analyze) {
    const std::size_t first = ctx.first();
    if (ctx.word(first, "insert") || ctx.word(first, "replace")) return mysql::read_insert(ctx);
    if (ctx.word(first, "update")) return mysql::read_update(ctx);
    if (ctx.word(first, "delete")) return mysql::read_delete(ctx);
    if (ctx.word(first, "truncate")) return mysql::read_truncate(ctx);
    if (ctx.word(first, "drop")) return mysql::read_drop(ctx);
    for (std::string_view w : {"begin", "start", "commit", "rollback", "savepoint", "release"}) {
        if (ctx.word(first, w)) return mysql::read_transaction(ctx);
    }
    if (ctx.word(first, "set")) {
        // MariaDB's SET STATEMENT var = value, ... FOR <statement> runs the statement.
        if (ctx.word(first + 1, "statement")) {
            const std::size_t f = ctx.find_word(first + 2, ctx.end(), "for");
            if (f == Context::npos || ctx.at_end(f + 1)) {
                return OtherStatement{"set_stmt", "SET STATEMENT without FOR"};
            }
            return read_statement(ctx.from(f + 1), explain_analyze);
        }
        return mysql::read_set(ctx);
    }
    // MariaDB's ANALYZE [FORMAT=JSON] runs the statement it analyses.
    if (ctx.word(first, "analyze")) {
        std::size_t i = first + 1;
        if (ctx.word(i, "format") && ctx.symbol(i + 1, "=")) i += 3;
        for (std::string_view w : {"insert", "replace", "update", "delete"}) {
            if (ctx.word(i, w)) {
                explain_analyze = true;
                return read_statement(ctx.from(i), explain_analyze);
            }
        }
    }
    // WITH ... UPDATE / DELETE (MySQL 8) writes; WITH ... SELECT does not.
    if (ctx.word(first, "with")) {
        for (std::string_view w : {"update", "delete", "insert", "replace"}) {
            if (ctx.find_word(first + 1, ctx.end(), w) != Context::npos) {
                return OtherStatement{std::string(w) + "_stmt",
                                      "a data-changing statement after WITH"};
            }
        }
    }
    return OtherStatement{mysql::node_name(ctx, first)};
}

}  // namespace

ParseResult parse_mysql(std::string_view sql, const MySqlDialect& dialect) {
    std::vector<MySqlToken> tokens;
    if (const auto error = lex_mysql(sql, dialect, tokens)) {
        ParseResult result;
        result.error = ParseError{std::string(error->message), 0, error->offset};
        return result;
    }
    return parse_mysql(sql, dialect, tokens);
}

ParseResult parse_mysql(std::string_view sql, const MySqlDialect& dialect,
                        const std::vector<MySqlToken>& tokens) {
    ParseResult result;
    std::vector<int> parameter_before(tokens.size() + 1, 0);
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        parameter_before[i + 1] =
            parameter_before[i] + (tokens[i].kind == MySqlTokenKind::parameter ? 1 : 0);
    }

    std::size_t text_start = 0;  // just after the previous `;`
    std::size_t first = 0;       // the statement's first token
    for (std::size_t i = 0; i <= tokens.size(); ++i) {
        const bool last = i == tokens.size();
        if (!last && !is_symbol(sql, tokens[i], ";")) continue;
        const std::size_t text_end = last ? sql.size() : tokens[i].offset;
        if (i > first) {
            const Context ctx(sql, dialect, tokens, parameter_before, first, i);
            Statement st;
            st.body = read_statement(ctx, st.explain_analyze);
            st.range = {text_start, text_end - text_start};
            st.trimmed = ctx.range(first, i - 1);
            result.statements.push_back(std::move(st));
        }
        if (!last) text_start = tokens[i].end();
        first = i + 1;
    }
    return result;
}

}  // namespace uniqguard::sql
