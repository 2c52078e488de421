// UPDATE: table, SET list (multi-column SET expanded), WHERE, FROM, WITH, RETURNING.
#include "pg_nodes.hpp"

namespace uniqguard::sql::postgres {

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
    up.has_with = stmt.with_clause != nullptr;
    up.returning = stmt.n_returning_list > 0;
    if (up.returning) up.returning_list = returning_range(ctx, from);
    return up;
}

}  // namespace uniqguard::sql::postgres
