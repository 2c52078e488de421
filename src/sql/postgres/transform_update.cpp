// UPDATE: table, SET list (multi-column SET expanded), WHERE, FROM, WITH, RETURNING.
#include "pg_nodes.hpp"

namespace uniqguard::sql::postgres {

namespace {
// The FROM list: the SET list's items end at a depth-0 `,`; the first that ends at FROM starts
// it (expression_end tells IS DISTINCT FROM apart), and it ends before WHERE or RETURNING.
SourceRange from_list_range(const Context& ctx, std::size_t relation) {
    std::size_t i = ctx.find_word(relation, "set");
    if (i == Context::npos) return {};
    for (++i; i < ctx.size();) {
        const std::size_t end = ctx.expression_end(i, true);
        if (end >= ctx.size()) return {};
        if (ctx.symbol(end, ",")) {
            i = end + 1;
            continue;
        }
        if (!ctx.word(end, "from") || end + 1 >= ctx.size()) return {};
        std::size_t last = ctx.find_word(end + 1, "where");
        if (last == Context::npos) last = ctx.find_word(end + 1, "returning");
        if (last == Context::npos) last = ctx.size();
        if (last <= end + 1) return {};
        return ctx.range(end + 1, last - 1);
    }
    return {};
}
}  // namespace

Statement::Body transform_update(const PgQuery__UpdateStmt& stmt, const Context& ctx) {
    UpdateStatement up;
    up.table = qualified_name(stmt.relation);
    up.alias = alias_of(stmt.relation);
    up.only = stmt.relation != nullptr && !stmt.relation->inh;
    up.assignments = transform_assignments(stmt.target_list, stmt.n_target_list, ctx);
    const std::size_t from = relation_token(ctx, stmt.relation);
    up.has_where = stmt.where_clause != nullptr;
    if (up.has_where) {
        up.where_current_of = stmt.where_clause->node_case == PG_QUERY__NODE__NODE_CURRENT_OF_EXPR;
        up.where = where_range(ctx, from);
    }
    up.has_from = stmt.n_from_clause > 0;
    if (up.has_from) up.from_list = from_list_range(ctx, from);
    up.has_with = stmt.with_clause != nullptr;
    up.returning = stmt.n_returning_list > 0;
    if (up.returning) up.returning_list = returning_range(ctx, from);
    return up;
}

}  // namespace uniqguard::sql::postgres
