#include "proxy/pg_late_skip_pieces.hpp"

#include <vector>

namespace uniqguard::proxy {

namespace {
bool is_name(const sql::Token& t) {
    return t.kind == sql::TokenKind::identifier || t.kind == sql::TokenKind::quoted_identifier;
}
}  // namespace

std::optional<guard::LateSkipPieces> late_skip_pieces(std::string_view statement, bool has_with,
                                                      bool has_conflict, bool has_returning,
                                                      sql::LexOptions lex) {
    std::vector<sql::Token> tokens;
    if (!sql::lex_postgres(statement, tokens, lex)) return std::nullopt;
    guard::LateSkipPieces p;
    // The statement's INSERT: the first token, or the first INSERT outside parentheses after
    // the WITH list (its CTEs are parenthesized).
    std::size_t i = 0;
    if (has_with) {
        int depth = 0;
        for (; i < tokens.size(); ++i) {
            if (sql::is_symbol(statement, tokens[i], "(")) ++depth;
            if (sql::is_symbol(statement, tokens[i], ")")) --depth;
            if (depth == 0 && i > 0 && sql::is_word(statement, tokens[i], "insert")) break;
        }
        if (i == tokens.size()) return std::nullopt;
        p.with_end = tokens[i].offset;
    }
    if (i + 2 >= tokens.size() || !sql::is_word(statement, tokens[i], "insert") ||
        !sql::is_word(statement, tokens[i + 1], "into") || !is_name(tokens[i + 2]))
        return std::nullopt;
    // schema.table, or catalog.schema.table: names joined by dots.
    std::size_t last = i + 2;
    while (last + 2 < tokens.size() && sql::is_symbol(statement, tokens[last + 1], ".") &&
           is_name(tokens[last + 2]))
        last += 2;
    p.target_begin = tokens[i + 2].offset;
    p.target_end = tokens[last].end();

    // ON CONFLICT and RETURNING outside parentheses: the last of each (a join's `ON conflict`,
    // a column so named, comes before the real clause); the statement ends at `;`.
    std::optional<std::size_t> conflict, returning;
    std::size_t end = p.target_end;
    int depth = 0;
    for (std::size_t j = last + 1; j < tokens.size(); ++j) {
        const auto& t = tokens[j];
        if (sql::is_symbol(statement, t, "(")) ++depth;
        if (sql::is_symbol(statement, t, ")")) --depth;
        if (depth == 0 && sql::is_symbol(statement, t, ";")) break;
        if (depth == 0 && has_conflict && j + 1 < tokens.size() &&
            sql::is_word(statement, t, "on") && sql::is_word(statement, tokens[j + 1], "conflict"))
            conflict = j;
        if (depth == 0 && has_returning && sql::is_word(statement, t, "returning")) returning = j;
        end = t.end();
    }
    if (has_conflict != conflict.has_value() || has_returning != returning.has_value())
        return std::nullopt;
    if (conflict && returning && *returning < *conflict) return std::nullopt;
    p.source_end = end;
    if (returning) {
        if (*returning + 1 >= tokens.size()) return std::nullopt;
        p.returning_begin = tokens[*returning + 1].offset;
        p.returning_end = end;
        p.source_end = tokens[*returning].offset;
        // The clause before RETURNING ends at its last token.
        end = tokens[*returning - 1].end();
    }
    if (conflict) {
        p.conflict_begin = tokens[*conflict].offset;
        p.conflict_end = end;
        p.source_end = tokens[*conflict].offset;
    }
    if (p.source_end <= p.target_end) return std::nullopt;
    return p;
}

std::optional<LateSkipWrapper> late_skip_wrapper(const WritePlan& plan, std::string_view statement,
                                                 bool nulls_distinct, sql::LexOptions lex) {
    const auto pieces =
        late_skip_pieces(statement, plan.late_with, plan.late_conflict, plan.late_returning, lex);
    if (!pieces) return std::nullopt;
    const auto& table = plan.guard->table();
    const auto& cfg = plan.guard->config();
    const auto& t = plan.insert_text;
    guard::LateSkipInsert insert{
        .alias = t.alias,
        .columns = t.columns,
        .overriding = t.overriding == sql::Overriding::system_value ? "OVERRIDING SYSTEM VALUE"
                      : t.overriding == sql::Overriding::user_value ? "OVERRIDING USER VALUE"
                                                                    : "",
        .keep_conflict_clause = !plan.conflict_clause.empty(),
        .every_column = plan.late_skip_every_column,
        .nulls_distinct = nulls_distinct};
    LateSkipWrapper out;
    // Hoisted: the stage's CTE heads the wrapper, the client's WITH list (if any) before it.
    out.late = guard::late_insert_sql(
        table, cfg, nulls_distinct, plan.late_returning, true,
        guard::late_skip_stage_create(table, cfg, t.columns, insert.every_column));
    out.stage_fill =
        guard::late_skip_stage_fill(table, cfg, insert, statement, *pieces, &out.stage_fill_copies);
    out.text = guard::late_skip_statement(table, cfg, insert, statement, *pieces, out.late.prefix,
                                          &out.copies) +
               out.late.suffix;
    out.skipped_probe = guard::late_skip_probe(table, cfg, t.columns, insert.every_column);
    return out;
}

}  // namespace uniqguard::proxy
