// Table DDL the guard must notice: TRUNCATE clears a table's keys; ALTER, DROP and RENAME of a
// guarded table, and CREATE UNIQUE INDEX on its key, change what the guard stands for.
#include "pg_nodes.hpp"

namespace uniqguard::sql::postgres {
namespace {

bool cascade(PgQuery__DropBehavior b) { return b == PG_QUERY__DROP_BEHAVIOR__DROP_CASCADE; }

std::string subcommand_name(PgQuery__AlterTableType t) {
    const ProtobufCEnumValue* v =
        protobuf_c_enum_descriptor_get_value(&pg_query__alter_table_type__descriptor, t);
    if (v == nullptr) return "Unknown";
    std::string_view name = v->name;
    if (name.starts_with("AT_")) name.remove_prefix(3);
    return std::string(name);
}

}  // namespace

Statement::Body transform_truncate(const PgQuery__TruncateStmt& stmt) {
    TruncateStatement t;
    for (std::size_t i = 0; i < stmt.n_relations; ++i) {
        const Node* n = stmt.relations[i];
        if (n != nullptr && n->node_case == PG_QUERY__NODE__NODE_RANGE_VAR) {
            t.tables.push_back(qualified_name(n->range_var));
        }
    }
    t.restart_identity = stmt.restart_seqs;
    t.cascade = cascade(stmt.behavior);
    return t;
}

Statement::Body transform_alter_table(const PgQuery__AlterTableStmt& stmt) {
    if (stmt.objtype != PG_QUERY__OBJECT_TYPE__OBJECT_TABLE) {
        return OtherStatement{"alter_table_stmt"};
    }
    AlterTableStatement a;
    a.table = qualified_name(stmt.relation);
    a.if_exists = stmt.missing_ok;
    for (std::size_t i = 0; i < stmt.n_cmds; ++i) {
        const Node* n = stmt.cmds[i];
        if (n != nullptr && n->node_case == PG_QUERY__NODE__NODE_ALTER_TABLE_CMD) {
            a.commands.push_back(subcommand_name(n->alter_table_cmd->subtype));
        }
    }
    return a;
}

Statement::Body transform_alter_object_schema(const PgQuery__AlterObjectSchemaStmt& stmt) {
    if (stmt.object_type != PG_QUERY__OBJECT_TYPE__OBJECT_TABLE || stmt.relation == nullptr) {
        return OtherStatement{"alter_object_schema_stmt"};
    }
    AlterTableStatement a;
    a.table = qualified_name(stmt.relation);
    a.if_exists = stmt.missing_ok;
    a.commands.emplace_back("SetSchema");
    a.new_schema = str(stmt.newschema);
    return a;
}

Statement::Body transform_drop(const PgQuery__DropStmt& stmt) {
    if (stmt.remove_type != PG_QUERY__OBJECT_TYPE__OBJECT_TABLE) return OtherStatement{"drop_stmt"};
    DropTableStatement d;
    for (std::size_t i = 0; i < stmt.n_objects; ++i) {
        const Node* n = stmt.objects[i];
        if (n != nullptr && n->node_case == PG_QUERY__NODE__NODE_LIST) {
            d.tables.push_back(qualified_name(n->list->items, n->list->n_items));
        }
    }
    d.if_exists = stmt.missing_ok;
    d.cascade = cascade(stmt.behavior);
    return d;
}

Statement::Body transform_rename(const PgQuery__RenameStmt& stmt) {
    RenameStatement r;
    switch (stmt.rename_type) {
        case PG_QUERY__OBJECT_TYPE__OBJECT_TABLE:
            r.target = RenameStatement::Target::table;
            break;
        case PG_QUERY__OBJECT_TYPE__OBJECT_COLUMN:
            if (stmt.relation_type != PG_QUERY__OBJECT_TYPE__OBJECT_TABLE) {
                return OtherStatement{"rename_stmt"};
            }
            r.target = RenameStatement::Target::column;
            break;
        case PG_QUERY__OBJECT_TYPE__OBJECT_TABCONSTRAINT:
            r.target = RenameStatement::Target::constraint;
            break;
        case PG_QUERY__OBJECT_TYPE__OBJECT_INDEX:
            r.target = RenameStatement::Target::index;
            break;
        default:
            return OtherStatement{"rename_stmt"};
    }
    if (stmt.relation == nullptr) return OtherStatement{"rename_stmt"};
    r.table = qualified_name(stmt.relation);
    r.old_name = str(stmt.subname);
    r.new_name = str(stmt.newname);
    return r;
}

Statement::Body transform_create_index(const PgQuery__IndexStmt& stmt) {
    CreateIndexStatement c;
    c.index = str(stmt.idxname);
    c.table = qualified_name(stmt.relation);
    c.unique = stmt.unique;
    c.nulls_not_distinct = stmt.nulls_not_distinct;
    for (std::size_t i = 0; i < stmt.n_index_params; ++i) {
        const Node* n = stmt.index_params[i];
        if (n == nullptr || n->node_case != PG_QUERY__NODE__NODE_INDEX_ELEM) {
            c.has_expressions = true;
            continue;
        }
        const PgQuery__IndexElem* e = n->index_elem;
        if (e->expr != nullptr || str(e->name).empty()) {
            c.has_expressions = true;
            continue;
        }
        if (e->n_collation > 0 || e->n_opclass > 0) c.has_expressions = true;
        c.columns.emplace_back(str(e->name));
    }
    c.has_where = stmt.where_clause != nullptr;
    return c;
}

}  // namespace uniqguard::sql::postgres
