// MERGE: only its target matters for now; its key values come from a join the server runs.
#include "pg_nodes.hpp"

namespace uniqguard::sql::postgres {

Statement::Body transform_merge(const PgQuery__MergeStmt& stmt) {
    MergeStatement m;
    m.table = qualified_name(stmt.relation);
    m.alias = alias_of(stmt.relation);
    m.has_with = stmt.with_clause != nullptr;
    return m;
}

}  // namespace uniqguard::sql::postgres
