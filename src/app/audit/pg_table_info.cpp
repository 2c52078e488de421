// The PostgreSQL catalog half of describe_table. Names reach the server only as quoted
// literals; the table is resolved as guard/guard_catalog.hpp resolves it (schema as written,
// else the first match along the account's search_path), so serve, check and the tools agree.
#include <map>

#include "catalog_readers.hpp"

namespace uniqguard::app::audit {

TableInfo read_postgres_table(ToolDb& db, const std::string& schema, const std::string& name) {
    const std::string s = db.quote_literal(schema);
    const std::string n = db.quote_literal(name);
    auto found = db.query(
        "SELECT c.oid::text, ns.nspname, c.relname, c.relkind::text, c.reltuples::bigint::text "
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace "
        "WHERE c.relname = " +
        n + " AND CASE WHEN " + s +
        " = '' THEN ns.nspname = ANY "
        "(pg_catalog.current_schemas(true)) ELSE ns.nspname = " +
        s +
        " END "
        "ORDER BY pg_catalog.array_position(pg_catalog.current_schemas(true), ns.nspname) "
        "LIMIT 1");
    const std::string written = schema.empty() ? name : schema + "." + name;
    if (found.empty()) throw DbError("table " + written + " does not exist");
    const Row& rel = found.front();
    if (text(rel, 3) != "r" && text(rel, 3) != "p") {
        throw DbError(written + " is not a table (relkind " + text(rel, 3) + ")");
    }
    TableInfo t;
    const std::string oid = text(rel, 0);
    t.schema = text(rel, 1);
    t.name = text(rel, 2);
    t.display = t.schema + "." + t.name;
    t.sql = db.quote_identifier(t.schema) + "." + db.quote_identifier(t.name);
    t.estimated_rows = std::stoll(text(rel, 4));
    t.partitioned = text(rel, 3) == "p";

    for (const Row& r : db.query("SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = " +
                                 oid + " AND attnum > 0 AND NOT attisdropped ORDER BY attnum")) {
        t.columns.push_back(text(r, 0));
    }
    for (const Row& r : db.query(
             "SELECT a.attname FROM pg_catalog.pg_index i "
             "CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord) "
             "JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
             "WHERE i.indrelid = " +
             oid + " AND i.indisprimary ORDER BY k.ord")) {
        t.identity.push_back(text(r, 0));
    }
    t.identity_is_primary_key = !t.identity.empty();
    if (t.identity.empty()) {
        // No primary key: ctid names a row version. It is stable while dedupe holds its lock
        // (SHARE ROW EXCLUSIVE stops every other writer), which is all dedupe needs.
        t.identity = {"ctid"};
        t.identity_is_ctid = true;
    }

    // Foreign keys pointing at the table, one row per column pair; a partitioned referencing
    // table's per-partition copies (conparentid <> 0) are left out.
    std::map<std::string, ForeignKeyRef> by_oid;
    std::vector<std::string> order;
    for (const Row& r : db.query(
             "SELECT con.oid::text, con.conname, ns.nspname, c.relname, fa.attname, ra.attname "
             "FROM pg_catalog.pg_constraint con "
             "JOIN pg_catalog.pg_class c ON c.oid = con.conrelid "
             "JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace "
             "CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY k(fk, rk, ord) "
             "JOIN pg_catalog.pg_attribute fa ON fa.attrelid = con.conrelid AND fa.attnum = k.fk "
             "JOIN pg_catalog.pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.rk "
             "WHERE con.contype = 'f' AND con.confrelid = " +
             oid + " AND con.conparentid = 0 ORDER BY ns.nspname, c.relname, con.conname, k.ord")) {
        auto [it, fresh] = by_oid.try_emplace(text(r, 0));
        ForeignKeyRef& fk = it->second;
        if (fresh) {
            order.push_back(text(r, 0));
            fk.name = text(r, 1);
            fk.table_display = text(r, 2) + "." + text(r, 3);
            fk.table_sql = db.quote_identifier(text(r, 2)) + "." + db.quote_identifier(text(r, 3));
        }
        fk.columns.push_back(text(r, 4));
        fk.referenced.push_back(text(r, 5));
    }
    for (const auto& o : order) t.referenced_by.push_back(std::move(by_oid[o]));
    return t;
}

}  // namespace uniqguard::app::audit
