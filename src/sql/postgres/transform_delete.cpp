// DELETE: table, WHERE, USING, WITH, RETURNING.
#include "pg_nodes.hpp"

namespace uniqguard::sql::postgres {

Statement::Body transform_delete(const PgQuery__DeleteStmt& stmt, const Context& ctx) {
    DeleteStatement del;
    del.table = qualified_name(stmt.relation);
    del.alias = alias_of(stmt.relation);
    del.only = stmt.relation != nullptr && !stmt.relation->inh;
    const std::size_t from = relation_token(ctx, stmt.relation);
    del.has_where = stmt.where_clause != nullptr;
    if (del.has_where) {
        del.where_current_of = stmt.where_clause->node_case == PG_QUERY__NODE__NODE_CURRENT_OF_EXPR;
        del.where = where_range(ctx, from);
    }
    del.has_using = stmt.n_using_clause > 0;
    del.has_with = stmt.with_clause != nullptr;
    del.returning = stmt.n_returning_list > 0;
    if (del.returning) del.returning_list = returning_range(ctx, from);
    return del;
}

}  // namespace uniqguard::sql::postgres
