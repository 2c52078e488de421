// Transaction control: BEGIN/START, COMMIT/END, ROLLBACK/ABORT, savepoints and two-phase commit.
#include "pg_nodes.hpp"

namespace uniqguard::sql::postgres {

Statement::Body transform_transaction(const PgQuery__TransactionStmt& stmt) {
    using K = TransactionStatement::Kind;
    TransactionStatement t;
    switch (stmt.kind) {
        case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_BEGIN:
            t.kind = K::begin;
            break;
        case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_START:
            t.kind = K::start;
            break;
        case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT:
            t.kind = K::commit;
            break;
        case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK:
            t.kind = K::rollback;
            break;
        case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_SAVEPOINT:
            t.kind = K::savepoint;
            break;
        case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_RELEASE:
            t.kind = K::release;
            break;
        case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK_TO:
            t.kind = K::rollback_to;
            break;
        case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_PREPARE:
            t.kind = K::prepare;
            break;
        case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT_PREPARED:
            t.kind = K::commit_prepared;
            break;
        case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK_PREPARED:
            t.kind = K::rollback_prepared;
            break;
        default:
            return OtherStatement{"transaction_stmt"};
    }
    t.savepoint = str(stmt.savepoint_name);
    t.gid = str(stmt.gid);
    t.chain = stmt.chain;
    for (std::size_t i = 0; i < stmt.n_options; ++i) {
        const Node* n = stmt.options[i];
        if (n == nullptr || n->node_case != PG_QUERY__NODE__NODE_DEF_ELEM) continue;
        t.options.emplace_back(str(n->def_elem->defname), node_text(n->def_elem->arg));
    }
    return t;
}

}  // namespace uniqguard::sql::postgres
