#include "guard/mysql_update_check_sql.hpp"

namespace uniqguard::guard {

namespace {

std::string whole_key(const std::string& from, const std::string& matched,
                      const MySqlUpdateProbe& p) {
    const std::string holds = "(" + mysql_key_condition(*p.columns, *p.key) + ") IS TRUE";
    // SUM over no rows is NULL: no row matched, no duplicate.
    return "(SELECT COALESCE(SUM(" + matched + ") > 0 AND SUM(" + matched + " OR " + holds +
           ") > 1, 0) FROM " + from + " WHERE " + matched + " OR " + holds + ")";
}

std::string part_of_key(const std::string& from, const std::string& matched,
                        const MySqlUpdateProbe& p) {
    const auto& columns = *p.columns;
    std::string select = matched + " AS uniqguard_m", set_equal, not_null, group, spelled;
    for (std::size_t i = 0; i < columns.size(); ++i) {
        const std::string name = mysql_quote_identifier(columns.column(i).name);
        const std::string alias = "uniqguard_k" + std::to_string(i);
        if (p.set[i]) {
            const std::string value = mysql_key_value_sql(columns.column(i), *(*p.key)[i]);
            select += ", IF(" + matched + ", " + value + ", " + name + ") AS " + alias;
            set_equal += std::string(set_equal.empty() ? "" : " AND ") + name + " = " + value;
        } else {
            select += ", " + name + " AS " + alias;
        }
        const std::string sep = i == 0 ? "" : ", ";
        not_null += std::string(i == 0 ? "" : " AND ") + alias + " IS NOT NULL";
        group += sep + alias;
        spelled += sep + "HEX(CONVERT(" + alias + " USING utf8mb4))";
    }
    // A row the UPDATE leaves can only share a new key if it already has the set parts.
    const std::string rows = "SELECT " + select + " FROM " + from + " WHERE " + matched + " OR (" +
                             set_equal + ") IS TRUE";
    const std::string keys = "SELECT COUNT(*) AS uniqguard_c, MIN(IF(uniqguard_m, CONCAT_WS(':', " +
                             spelled + "), NULL)) AS uniqguard_h FROM (" + rows +
                             ") AS uniqguard_r WHERE " + not_null + " GROUP BY " + group +
                             " HAVING MAX(uniqguard_m) = 1";
    // Each key ends with '.': a list cut at group_concat_max_len inside its last key is seen as
    // cut (the count alone would pass a shortened last key).
    return "(SELECT CONCAT(COUNT(*), '/', COALESCE(GROUP_CONCAT(CONCAT(IF(uniqguard_c > 1, '!', "
           "''), uniqguard_h, '.') SEPARATOR ','), '')) FROM (" +
           keys + ") AS uniqguard_g)";
}

}  // namespace

std::string mysql_update_check_sql(std::string_view schema, std::string_view table,
                                   std::string_view alias, std::optional<std::string_view> where,
                                   const std::vector<MySqlUpdateProbe>& probes) {
    // The WHERE goes in parentheses of its own: its OR must not mix with the key conditions.
    const std::string matched =
        where ? "((" + std::string(*where) + ") IS TRUE)" : std::string("1");
    std::string from = mysql_quote_identifier(schema) + "." + mysql_quote_identifier(table);
    if (!alias.empty()) from += " AS " + mysql_quote_identifier(alias);
    std::string out = "SELECT CONCAT(";
    bool first = true;
    for (const auto& p : probes) {
        if (!first) out += ", ';', ";
        first = false;
        out += p.set.empty() ? whole_key(from, matched, p) : part_of_key(from, matched, p);
    }
    if (first) out += "''";
    return out + ")";
}

}  // namespace uniqguard::guard
