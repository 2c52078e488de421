// The MySQL/MariaDB catalog half of describe_table, from information_schema. Names reach the
// server only as escaped literals. An unqualified table is in backend.database.
#include <map>

#include "catalog_readers.hpp"

namespace uniqguard::app::audit {

TableInfo read_mysql_table(ToolDb& db, const std::string& schema, const std::string& name) {
    const std::string s = db.quote_literal(schema);
    const std::string n = db.quote_literal(name);
    auto found = db.query(
        "SELECT t.TABLE_SCHEMA, t.TABLE_NAME, t.TABLE_TYPE, COALESCE(t.ENGINE, ''), "
        "COALESCE(t.TABLE_ROWS, -1), COALESCE(e.TRANSACTIONS, 'NO') "
        "FROM information_schema.TABLES t "
        "LEFT JOIN information_schema.ENGINES e ON e.ENGINE = t.ENGINE "
        "WHERE t.TABLE_SCHEMA = " +
        s + " AND t.TABLE_NAME = " + n);
    if (found.empty()) throw DbError("table " + schema + "." + name + " does not exist");
    const Row& rel = found.front();
    if (text(rel, 2) != "BASE TABLE") {
        throw DbError(schema + "." + name + " is not a table (" + text(rel, 2) + ")");
    }
    TableInfo t;
    t.schema = text(rel, 0);
    t.name = text(rel, 1);
    t.display = t.schema + "." + t.name;
    t.sql = db.quote_identifier(t.schema) + "." + db.quote_identifier(t.name);
    t.engine = text(rel, 3);
    t.estimated_rows = std::stoll(text(rel, 4));
    t.transactional = text(rel, 5) == "YES";

    const std::string where = " WHERE TABLE_SCHEMA = " + db.quote_literal(t.schema) +
                              " AND TABLE_NAME = " + db.quote_literal(t.name);
    for (const Row& r : db.query("SELECT COLUMN_NAME FROM information_schema.COLUMNS" + where +
                                 " ORDER BY ORDINAL_POSITION")) {
        t.columns.push_back(text(r, 0));
    }
    for (const Row& r : db.query("SELECT COLUMN_NAME FROM information_schema.STATISTICS" + where +
                                 " AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX")) {
        t.identity.push_back(text(r, 0));
    }
    t.identity_is_primary_key = !t.identity.empty();

    std::map<std::string, ForeignKeyRef> by_name;
    std::vector<std::string> order;
    for (const Row& r : db.query(
             "SELECT CONSTRAINT_SCHEMA, CONSTRAINT_NAME, TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, "
             "REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
             "WHERE REFERENCED_TABLE_SCHEMA = " +
             db.quote_literal(t.schema) +
             " AND REFERENCED_TABLE_NAME = " + db.quote_literal(t.name) +
             " ORDER BY TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION")) {
        const std::string id = text(r, 0) + "." + text(r, 1) + "." + text(r, 3);
        auto [it, fresh] = by_name.try_emplace(id);
        ForeignKeyRef& fk = it->second;
        if (fresh) {
            order.push_back(id);
            fk.name = text(r, 1);
            fk.table_display = text(r, 2) + "." + text(r, 3);
            fk.table_sql = db.quote_identifier(text(r, 2)) + "." + db.quote_identifier(text(r, 3));
        }
        fk.columns.push_back(text(r, 4));
        fk.referenced.push_back(text(r, 5));
    }
    for (const auto& o : order) t.referenced_by.push_back(std::move(by_name[o]));
    return t;
}

std::vector<std::string> mysql_unique_not_null_columns(ToolDb& db, const TableInfo& table) {
    std::vector<std::string> out;
    for (const Row& r :
         db.query("SELECT MIN(s.COLUMN_NAME) FROM information_schema.STATISTICS s "
                  "JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = s.TABLE_SCHEMA "
                  "AND c.TABLE_NAME = s.TABLE_NAME AND c.COLUMN_NAME = s.COLUMN_NAME "
                  "WHERE s.TABLE_SCHEMA = " +
                  db.quote_literal(table.schema) +
                  " AND s.TABLE_NAME = " + db.quote_literal(table.name) +
                  " AND s.NON_UNIQUE = 0 AND c.IS_NULLABLE = 'NO' AND s.SUB_PART IS NULL "
                  "GROUP BY s.INDEX_NAME HAVING COUNT(*) = 1")) {
        out.push_back(text(r, 0));
    }
    return out;
}

}  // namespace uniqguard::app::audit
