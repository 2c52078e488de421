// COPY: the rows of COPY ... FROM STDIN pass through the proxy and are checked one by one, so the
// table, the column list and the format options are what matter.
#include "pg_nodes.hpp"

namespace uniqguard::sql::postgres {

Statement::Body transform_copy(const PgQuery__CopyStmt& stmt) {
    CopyStatement c;
    c.table = qualified_name(stmt.relation);
    c.columns = column_names(stmt.attlist, stmt.n_attlist, nullptr);
    c.is_from = stmt.is_from;
    c.is_program = stmt.is_program;
    c.filename = str(stmt.filename);
    c.has_query = stmt.query != nullptr;
    c.has_where = stmt.where_clause != nullptr;
    c.from_stdin = c.is_from && !c.is_program && c.filename.empty();
    c.to_stdout = !c.is_from && !c.is_program && c.filename.empty();
    for (std::size_t i = 0; i < stmt.n_options; ++i) {
        const Node* n = stmt.options[i];
        if (n == nullptr || n->node_case != PG_QUERY__NODE__NODE_DEF_ELEM) continue;
        const PgQuery__DefElem* d = n->def_elem;
        std::string name(str(d->defname));
        // An option without an argument is a boolean switch (legacy `CSV HEADER` syntax).
        std::string value = d->arg == nullptr ? "true" : node_text(d->arg);
        if (name == "format") {
            if (value == "csv") c.format = CopyFormat::csv;
            if (value == "binary") c.format = CopyFormat::binary;
            if (value == "text") c.format = CopyFormat::text;
        }
        c.options.emplace_back(std::move(name), std::move(value));
    }
    return c;
}

}  // namespace uniqguard::sql::postgres
