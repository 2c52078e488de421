// INSERT: table, column list, VALUES rows, ON CONFLICT, RETURNING. Any source other than a
// plain VALUES list (a SELECT, VALUES with ORDER BY or LIMIT, a set operation) is reported as
// `select_source` with no rows: the proxy cannot read those values before the server runs it.
#include "pg_nodes.hpp"

namespace uniqguard::sql::postgres {
namespace {

bool is_plain_values(const PgQuery__SelectStmt& s) {
    return s.n_values_lists > 0 && s.with_clause == nullptr && s.n_sort_clause == 0 &&
           s.limit_offset == nullptr && s.limit_count == nullptr && s.n_locking_clause == 0 &&
           (s.op == PG_QUERY__SET_OPERATION__SETOP_NONE ||
            s.op == PG_QUERY__SET_OPERATION__SET_OPERATION_UNDEFINED);
}

// Where each VALUES item sits in the text. The walk follows the grammar from the table name:
//   INSERT INTO name [AS alias] [(cols)] [OVERRIDING {SYSTEM|USER} VALUE] [(...] VALUES (..),..
// and gives up (all ranges unknown) as soon as a token is not what the tree says it must be.
std::vector<std::vector<SourceRange>> locate_rows(const PgQuery__InsertStmt& stmt,
                                                  const PgQuery__SelectStmt& sel,
                                                  const Context& ctx) {
    std::vector<std::vector<SourceRange>> rows;
    std::size_t i = ctx.token_at(stmt.relation->location);
    if (i == Context::npos) return {};
    ++i;
    while (ctx.symbol(i, ".")) i += 2;
    if (ctx.word(i, "as")) {
        i += 2;
    } else if (stmt.relation->alias != nullptr) {
        i += 1;
    }
    if (stmt.n_cols > 0) {
        if (!ctx.symbol(i, "(")) return {};
        i = ctx.skip_group(i);
        if (i == Context::npos) return {};
    }
    if (ctx.word(i, "overriding")) i += 3;
    while (ctx.symbol(i, "(")) ++i;
    if (!ctx.word(i, "values")) return {};
    ++i;
    for (std::size_t r = 0; r < sel.n_values_lists; ++r) {
        if (r > 0) {
            if (!ctx.symbol(i, ",")) return {};
            ++i;
        }
        std::size_t next = Context::npos;
        auto items = ctx.split_list(i, next);
        const Node* list = sel.values_lists[r];
        if (next == Context::npos || list == nullptr ||
            list->node_case != PG_QUERY__NODE__NODE_LIST || items.size() != list->list->n_items) {
            return {};
        }
        rows.push_back(std::move(items));
        i = next;
    }
    return rows;
}

OnConflict transform_on_conflict(const PgQuery__OnConflictClause& oc, const Context& ctx) {
    OnConflict out;
    switch (oc.action) {
        case PG_QUERY__ON_CONFLICT_ACTION__ONCONFLICT_NOTHING:
            out.action = OnConflict::Action::do_nothing;
            break;
        case PG_QUERY__ON_CONFLICT_ACTION__ONCONFLICT_UPDATE:
            out.action = OnConflict::Action::do_update;
            break;
        default:
            out.action = OnConflict::Action::none;
            break;
    }
    if (const PgQuery__InferClause* infer = oc.infer; infer != nullptr) {
        out.constraint = str(infer->conname);
        out.has_target_where = infer->where_clause != nullptr;
        for (std::size_t i = 0; i < infer->n_index_elems; ++i) {
            const Node* e = infer->index_elems[i];
            if (e == nullptr || e->node_case != PG_QUERY__NODE__NODE_INDEX_ELEM) {
                out.target_unsupported = true;
                out.target_note = "inference element of unknown kind";
                continue;
            }
            const PgQuery__IndexElem* ie = e->index_elem;
            if (ie->expr != nullptr || str(ie->name).empty()) {
                out.target_unsupported = true;
                out.target_note = "expression in the conflict target";
                continue;
            }
            if (ie->n_collation > 0 || ie->n_opclass > 0) {
                out.target_unsupported = true;
                out.target_note = "COLLATE or operator class in the conflict target";
            }
            out.target_columns.emplace_back(str(ie->name));
        }
    }
    out.assignments = transform_assignments(oc.target_list, oc.n_target_list, ctx);
    out.has_update_where = oc.where_clause != nullptr;
    return out;
}

}  // namespace

Statement::Body transform_insert(const PgQuery__InsertStmt& stmt, const Context& ctx) {
    InsertStatement ins;
    ins.table = qualified_name(stmt.relation);
    ins.alias = alias_of(stmt.relation);
    ins.columns = column_names(stmt.cols, stmt.n_cols, &ins.column_indirection);
    ins.has_with = stmt.with_clause != nullptr;
    switch (stmt.override) {
        case PG_QUERY__OVERRIDING_KIND__OVERRIDING_SYSTEM_VALUE:
            ins.overriding = Overriding::system_value;
            break;
        case PG_QUERY__OVERRIDING_KIND__OVERRIDING_USER_VALUE:
            ins.overriding = Overriding::user_value;
            break;
        default:
            ins.overriding = Overriding::none;
            break;
    }

    const Node* src = stmt.select_stmt;
    if (src == nullptr) {
        ins.default_values = true;
    } else if (src->node_case != PG_QUERY__NODE__NODE_SELECT_STMT ||
               !is_plain_values(*src->select_stmt)) {
        ins.select_source = true;
    } else {
        const PgQuery__SelectStmt& sel = *src->select_stmt;
        const auto ranges = locate_rows(stmt, sel, ctx);
        ins.rows.reserve(sel.n_values_lists);
        for (std::size_t r = 0; r < sel.n_values_lists; ++r) {
            const Node* list = sel.values_lists[r];
            std::vector<Value> row;
            if (list != nullptr && list->node_case == PG_QUERY__NODE__NODE_LIST) {
                row.reserve(list->list->n_items);
                for (std::size_t k = 0; k < list->list->n_items; ++k) {
                    const SourceRange whole = r < ranges.size() ? ranges[r][k] : SourceRange{};
                    row.push_back(transform_value(list->list->items[k], ctx, whole));
                }
            }
            ins.rows.push_back(std::move(row));
        }
    }

    if (stmt.on_conflict_clause != nullptr) {
        ins.on_conflict = transform_on_conflict(*stmt.on_conflict_clause, ctx);
    }
    ins.returning = stmt.n_returning_list > 0;
    if (ins.returning)
        ins.returning_list = returning_range(ctx, relation_token(ctx, stmt.relation));
    return ins;
}

}  // namespace uniqguard::sql::postgres
