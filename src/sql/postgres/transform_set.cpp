// SET / RESET. The variables that change how the proxy must read literals (search_path,
// standard_conforming_strings, client_encoding, TimeZone, DateStyle) arrive here; the session
// also learns their effective values from the server's ParameterStatus messages.
#include "pg_nodes.hpp"

namespace uniqguard::sql::postgres {

Statement::Body transform_set(const PgQuery__VariableSetStmt& stmt, const Context& ctx) {
    using K = SetStatement::Kind;
    SetStatement s;
    switch (stmt.kind) {
        case PG_QUERY__VARIABLE_SET_KIND__VAR_SET_VALUE:
            s.kind = K::set_value;
            break;
        case PG_QUERY__VARIABLE_SET_KIND__VAR_SET_DEFAULT:
            s.kind = K::set_default;
            break;
        case PG_QUERY__VARIABLE_SET_KIND__VAR_SET_CURRENT:
            s.kind = K::set_current;
            break;
        case PG_QUERY__VARIABLE_SET_KIND__VAR_SET_MULTI:
            s.kind = K::set_multi;
            break;
        case PG_QUERY__VARIABLE_SET_KIND__VAR_RESET:
            s.kind = K::reset;
            break;
        case PG_QUERY__VARIABLE_SET_KIND__VAR_RESET_ALL:
            s.kind = K::reset_all;
            break;
        default:
            return OtherStatement{"variable_set_stmt"};
    }
    s.name = str(stmt.name);
    s.is_local = stmt.is_local;
    if (s.kind == K::set_value) {
        for (std::size_t i = 0; i < stmt.n_args; ++i) {
            const Node* a = stmt.args[i];
            // The value list is separated by commas at depth 0, like a VALUES row.
            int location = -1;
            if (a != nullptr && a->node_case == PG_QUERY__NODE__NODE_A_CONST) {
                location = a->a_const->location;
            }
            SourceRange whole;
            const std::size_t first = ctx.token_at(location);
            if (first != Context::npos) {
                const std::size_t end = ctx.expression_end(first, false);
                if (end > first) whole = ctx.range(first, end - 1);
            }
            s.values.push_back(transform_value(a, ctx, whole));
        }
        s.value = flatten_set_value(s.name, s.values);
    }
    return s;
}

}  // namespace uniqguard::sql::postgres
