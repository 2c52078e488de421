#include "table_info.hpp"

#include <algorithm>
#include <cctype>

#include "catalog_readers.hpp"

namespace uniqguard::app::audit {

namespace {

// The catalog's spelling of `wanted`, or a DbError naming the table.
std::string find_column(Flavour flavour, const TableInfo& t, const std::string& wanted,
                        const std::string& what) {
    for (const auto& c : t.columns) {
        if (same_column_name(flavour, c, wanted)) return c;
    }
    throw DbError(what + " \"" + wanted + "\" is not a column of " + t.display);
}

}  // namespace

bool same_column_name(Flavour flavour, const std::string& a, const std::string& b) {
    if (flavour == Flavour::postgres) return a == b;  // the catalog's spelling, case-sensitive
    // MySQL column names are case-insensitive.
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

TableInfo describe_table(ToolDb& db, const config::Guard& guard, const std::string& database,
                         const std::optional<std::string>& order_by) {
    std::string schema, name = guard.table;
    if (auto dot = guard.table.find('.'); dot != std::string::npos) {
        schema = guard.table.substr(0, dot);
        name = guard.table.substr(dot + 1);
    }
    const Flavour flavour = db.flavour();
    TableInfo t = flavour == Flavour::postgres
                      ? read_postgres_table(db, schema, name)
                      : read_mysql_table(db, schema.empty() ? database : schema, name);
    for (const auto& c : guard.columns) t.key.push_back(find_column(flavour, t, c, "key column"));

    if (order_by) {
        const std::string column = find_column(flavour, t, *order_by, "--order-by");
        t.order_by = column;
        if (flavour == Flavour::mysql && t.identity.empty()) {
            const auto unique = mysql_unique_not_null_columns(db, t);
            if (std::find(unique.begin(), unique.end(), column) == unique.end()) {
                throw DbError(t.display + " has no primary key and --order-by " + column +
                              " is not a NOT NULL column with a unique index of its own: rows "
                              "cannot be told apart");
            }
            t.identity = {column};
        }
    }
    return t;
}

}  // namespace uniqguard::app::audit
