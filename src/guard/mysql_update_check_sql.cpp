#include "guard/mysql_update_check_sql.hpp"

namespace uniqguard::guard {

std::string mysql_update_check_sql(std::string_view schema, std::string_view table,
                                   std::string_view alias, std::optional<std::string_view> where,
                                   const std::vector<MySqlUpdateProbe>& probes) {
    // The WHERE goes in parentheses of its own: its OR must not mix with the key conditions.
    const std::string matched =
        where ? "((" + std::string(*where) + ") IS TRUE)" : std::string("1");
    std::string out = "SELECT CONCAT(";
    std::string filter = matched;
    bool first = true;
    for (const auto& p : probes) {
        const std::string holds = "(" + mysql_key_condition(*p.columns, *p.key) + ") IS TRUE";
        if (!first) out += ", ";
        first = false;
        // SUM over no rows is NULL: no row matched, no duplicate.
        out +=
            "COALESCE(SUM(" + matched + ") > 0 AND SUM(" + matched + " OR " + holds + ") > 1, 0)";
        filter += " OR " + holds;
    }
    if (first) out += "''";
    out += ") FROM " + mysql_quote_identifier(schema) + "." + mysql_quote_identifier(table);
    if (!alias.empty()) out += " AS " + mysql_quote_identifier(alias);
    return out + " WHERE " + filter;
}

}  // namespace uniqguard::guard
