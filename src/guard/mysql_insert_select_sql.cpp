#include "guard/mysql_insert_select_sql.hpp"

#include <cctype>
#include <cstdio>
#include <functional>

namespace uniqguard::guard {

namespace {

// One guard's answer. The stage is read once (a temporary table may be opened only once per
// statement on MySQL 8): each of its rows joined with the table's rows of the same key. For a
// key the stage holds n times and the table e times, the join gives n·max(1, e) rows of which
// n·e have a table row: a duplicate exactly when the table holds it (e > 0) or the stage holds
// it twice (n > 1 with e = 0).
std::string key_answer(const std::string& stage, const std::string& table,
                       const MySqlKeyColumns& columns) {
    std::string on, not_null, group, spelled;
    for (std::size_t i = 0; i < columns.size(); ++i) {
        const std::string name = mysql_quote_identifier(columns.column(i).name);
        const std::string s = "uniqguard_s." + name;
        const std::string sep = i == 0 ? "" : ", ";
        const std::string and_ = i == 0 ? "" : " AND ";
        on += and_ + "uniqguard_t." + name + " = " + s;
        not_null += and_ + s + " IS NOT NULL";
        group += sep + s;
        spelled += sep + "HEX(CONVERT(" + s + " USING utf8mb4))";
    }
    const std::string first_key = mysql_quote_identifier(columns.column(0).name);
    const std::string keys = "SELECT COUNT(*) AS uniqguard_c, COUNT(uniqguard_t." + first_key +
                             ") AS uniqguard_e, MIN(CONCAT_WS(':', " + spelled +
                             ")) AS uniqguard_h FROM " + stage + " AS uniqguard_s LEFT JOIN " +
                             table + " AS uniqguard_t ON " + on + " WHERE " + not_null +
                             " GROUP BY " + group;
    // Each key ends with '.': a list cut at group_concat_max_len inside its last key is seen as
    // cut (mysql_update_check_sql's answer, read the same way).
    return "(SELECT CONCAT(COUNT(*), '/', COALESCE(GROUP_CONCAT(CONCAT(IF(uniqguard_c > 1 OR "
           "uniqguard_e > 0, '!', ''), uniqguard_h, '.') SEPARATOR ','), '')) FROM (" +
           keys + ") AS uniqguard_g)";
}

}  // namespace

std::string mysql_stage_name(std::string_view schema, std::string_view table) {
    // Names are at most 64 characters: a hash of the table's, not the name itself.
    std::string both(schema);
    both += '.';
    both += table;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016zx", std::hash<std::string>{}(both));
    return "uniqguard_stage_" + std::string(hex);
}

MySqlStagedInsertSql mysql_staged_insert_sql(std::string_view schema, std::string_view table,
                                             std::string_view after_table_name,
                                             const std::vector<std::string>& copied,
                                             const std::vector<const MySqlKeyColumns*>& keys) {
    const std::string quoted_schema = mysql_quote_identifier(schema);
    const std::string target = quoted_schema + "." + mysql_quote_identifier(table);
    const std::string stage =
        quoted_schema + "." + mysql_quote_identifier(mysql_stage_name(schema, table));
    MySqlStagedInsertSql out;
    out.drop_stage = "DROP TEMPORARY TABLE IF EXISTS " + stage;
    out.create_stage = "CREATE TEMPORARY TABLE " + stage + " LIKE " + target;
    const bool spaced = !after_table_name.empty() &&
                        std::isspace(static_cast<unsigned char>(after_table_name.front()));
    out.fill = "INSERT INTO " + stage + (spaced ? "" : " ") + std::string(after_table_name);
    out.probe = "SELECT CONCAT(";
    for (std::size_t i = 0; i < keys.size(); ++i) {
        if (i > 0) out.probe += ", ';', ";
        out.probe += key_answer(stage, target, *keys[i]);
    }
    if (keys.empty()) out.probe += "''";
    out.probe += ")";
    std::string list;
    for (const auto& c : copied) list += (list.empty() ? "" : ", ") + mysql_quote_identifier(c);
    out.copy = "INSERT INTO " + target + " (" + list + ") SELECT " + list + " FROM " + stage;
    return out;
}

}  // namespace uniqguard::guard
