#include "guard/mysql_stage_sql.hpp"

#include <cctype>
#include <cstdio>
#include <functional>

namespace uniqguard::guard {

namespace {

std::string qualified(std::string_view schema, std::string_view name) {
    return schema.empty() ? mysql_quote_identifier(name)
                          : mysql_quote_identifier(schema) + "." + mysql_quote_identifier(name);
}

std::string key_list(const MySqlKeyColumns& columns, const std::string& prefix = "") {
    std::string out;
    for (std::size_t i = 0; i < columns.size(); ++i)
        out += (i == 0 ? "" : ", ") + prefix + mysql_quote_identifier(columns.column(i).name);
    return out;
}

// One guard's answer. The stage is read once (a temporary table may be opened only once per
// statement on MySQL 8; the locking probe reads it twice, refused there): each of its rows
// joined with `others`' rows of the same key (the rows the statement does not write, `alias`
// naming them: the table itself, unaliased, since under LOCK TABLES an alias would need a lock
// of its own; or a derived table). For a key the stage holds n times and the others e times,
// the join gives n·max(1, e) rows of which n·e have an other row: a duplicate exactly when
// another row holds it (e > 0) or the stage holds it twice (n > 1 with e = 0).
std::string key_answer(const std::string& stage, const std::string& others,
                       const std::string& alias, const MySqlKeyColumns& columns,
                       const std::string& also_on) {
    std::string on, not_null, group, spelled;
    const std::string other = alias.empty() ? others : alias;
    for (std::size_t i = 0; i < columns.size(); ++i) {
        const std::string name = mysql_quote_identifier(columns.column(i).name);
        const std::string s = "uniqguard_s." + name;
        const std::string sep = i == 0 ? "" : ", ";
        const std::string and_ = i == 0 ? "" : " AND ";
        on += and_ + other + "." + name + " = " + s;
        not_null += and_ + s + " IS NOT NULL";
        group += sep + s;
        spelled += sep + "HEX(CONVERT(" + s + " USING utf8mb4))";
    }
    const std::string first_key = mysql_quote_identifier(columns.column(0).name);
    const std::string keys = "SELECT COUNT(*) AS uniqguard_c, COUNT(" + other + "." + first_key +
                             ") AS uniqguard_e, MIN(CONCAT_WS(':', " + spelled +
                             ")) AS uniqguard_h FROM " + stage + " AS uniqguard_s LEFT JOIN " +
                             others + (alias.empty() ? "" : " AS " + alias) + " ON " + on +
                             also_on + " WHERE " + not_null + " GROUP BY " + group;
    // Each key ends with '.': a list cut at group_concat_max_len inside its last key is seen as
    // cut (mysql_update_check_sql's answer, read the same way).
    return "(SELECT CONCAT(COUNT(*), '/', COALESCE(GROUP_CONCAT(CONCAT(IF(uniqguard_e > 0, '!', "
           "IF(uniqguard_c > 1, '!+', '')), uniqguard_h, '.') SEPARATOR ','), '')) FROM (" +
           keys + ") AS uniqguard_g)";
}

std::string concat(const std::vector<std::string>& answers) {
    std::string out = "SELECT CONCAT(";
    for (std::size_t i = 0; i < answers.size(); ++i) out += (i > 0 ? ", ';', " : "") + answers[i];
    if (answers.empty()) out += "''";
    return out + ")";
}

// The table's rows of the stage's keys, by a locking read.
std::string locked_rows(const std::string& target, const std::string& as, const std::string& stage,
                        const MySqlKeyColumns& k, const std::string& more_columns,
                        const std::string& and_where = "") {
    return "(SELECT " + key_list(k) + more_columns + " FROM " + target + as + " WHERE (" +
           key_list(k) + ") IN (SELECT " + key_list(k) + " FROM " + stage + ")" + and_where +
           " LOCK IN SHARE MODE)";
}

// The table's columns as they are now (an ALTER since the guard read them included), and
// LAST_INSERT_ID(): mysql_read_table_columns reads the answer.
std::string columns_query(std::string_view schema, std::string_view table) {
    const std::string schema_sql =
        schema.empty() ? std::string("DATABASE()") : mysql_string_expression(schema);
    return "SELECT CONCAT(LAST_INSERT_ID(), '/', COALESCE(GROUP_CONCAT(CONCAT(IF(EXTRA LIKE "
           "'%auto_increment%', 'a', IF(EXTRA LIKE '%VIRTUAL GENERATED%' OR EXTRA LIKE '%STORED "
           "GENERATED%', 'g', 'c')), HEX(COLUMN_NAME)) ORDER BY ORDINAL_POSITION SEPARATOR ','), "
           "'')) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = " +
           schema_sql + " AND TABLE_NAME = " + mysql_string_expression(table);
}

std::vector<std::string> made(const std::string& stage, const std::string& target) {
    // Made afresh each time, so that an ALTER of the table is followed.
    return {"DROP TEMPORARY TABLE IF EXISTS " + stage,
            "CREATE TEMPORARY TABLE " + stage + " LIKE " + target};
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

MySqlStageSql mysql_staged_insert_sql(std::string_view schema, std::string_view table,
                                      std::string_view after_table_name,
                                      const std::vector<const MySqlKeyColumns*>& keys,
                                      bool ignore) {
    const std::string target = qualified(schema, table);
    const std::string stage = qualified(schema, mysql_stage_name(schema, table));
    MySqlStageSql out;
    out.stage.push_back(columns_query(schema, table));
    for (auto& s : made(stage, target)) out.stage.push_back(std::move(s));
    const bool spaced = !after_table_name.empty() &&
                        std::isspace(static_cast<unsigned char>(after_table_name.front()));
    out.stage.push_back((ignore ? "INSERT IGNORE INTO " : "INSERT INTO ") + stage +
                        (spaced ? "" : " ") + std::string(after_table_name));
    std::vector<std::string> plain, locking;
    for (const auto* k : keys) {
        plain.push_back(key_answer(stage, target, "", *k, ""));
        locking.push_back(
            key_answer(stage, locked_rows(target, "", stage, *k, ""), "uniqguard_t", *k, ""));
    }
    out.probe = concat(plain);
    out.locking_probe = concat(locking);
    return out;
}

std::optional<MySqlTableColumns> mysql_read_table_columns(std::string_view answer) {
    const auto slash = answer.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    MySqlTableColumns out;
    out.last_insert_id.assign(answer.substr(0, slash));
    for (const char c : out.last_insert_id)
        if (c < '0' || c > '9') return std::nullopt;
    std::string_view rest = answer.substr(slash + 1);
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        if (item.size() < 3 || item.size() % 2 == 0) return std::nullopt;
        MySqlTableColumns::Column column;
        column.kind = item[0];
        for (std::size_t i = 1; i + 1 < item.size(); i += 2) {
            const auto nibble = [](char h) -> int {
                if (h >= '0' && h <= '9') return h - '0';
                if (h >= 'A' && h <= 'F') return h - 'A' + 10;
                return -1;
            };
            const int hi = nibble(item[i]), lo = nibble(item[i + 1]);
            if (hi < 0 || lo < 0) return std::nullopt;
            column.name += static_cast<char>(hi * 16 + lo);
        }
        out.columns.push_back(std::move(column));
    }
    return out;
}

std::string mysql_stage_copy_sql(std::string_view schema, std::string_view table,
                                 const std::vector<std::string>& columns,
                                 const MySqlStageCopy& how) {
    std::string list;
    for (const auto& c : columns) list += (list.empty() ? "" : ", ") + mysql_quote_identifier(c);
    const std::string target = qualified(schema, table);
    const std::string stage = qualified(schema, mysql_stage_name(schema, table));
    std::string out = std::string(how.ignore ? "INSERT IGNORE INTO " : "INSERT INTO ") + target +
                      " (" + list + ") SELECT " + list + " FROM " + stage;
    if (how.drop.empty()) return out;
    // The table itself is not aliased in the test for its rows: under LOCK TABLES an alias
    // would need a lock of its own (the table named twice fails there either way, 1100).
    std::string where;
    for (const auto* k : how.drop) {
        std::string in_table;
        for (std::size_t i = 0; i < k->size(); ++i) {
            const std::string name = mysql_quote_identifier(k->column(i).name);
            in_table += (i == 0 ? "" : " AND ") + target + "." + name + " = uniqguard_s." + name;
        }
        where += std::string(where.empty() ? " WHERE " : " AND ") + "NOT EXISTS (SELECT 1 FROM " +
                 target + " WHERE " + in_table + ")";
    }
    // A key with a NULL part never compares equal: such rows are always kept, as on an index.
    return out + " AS uniqguard_s" + where;
}

MySqlStageSql mysql_staged_update_sql(std::string_view schema, std::string_view table,
                                      std::string_view alias, std::optional<std::string_view> where,
                                      std::string_view set_list,
                                      const std::vector<const MySqlKeyColumns*>& keys,
                                      std::string_view order_column) {
    const std::string target = qualified(schema, table);
    const std::string stage = qualified(schema, mysql_stage_name(schema, table));
    // The client's alias, or none (under LOCK TABLES an alias the client did not lock fails).
    const std::string as = alias.empty() ? "" : " AS " + mysql_quote_identifier(alias);
    const std::string matched = where ? "(" + std::string(*where) + ") IS TRUE" : "TRUE";
    MySqlStageSql out;
    out.stage.push_back(columns_query(schema, table));
    for (auto& s : made(stage, target)) out.stage.push_back(std::move(s));
    // The rows the UPDATE matches (mysql_staged_update_fill, once the columns are known), then
    // the UPDATE's assignments on them, the stage named as the client names the table: each
    // value assigned as the table would (conversions, strict mode's errors, left to right).
    out.stage.emplace_back();
    out.stage.push_back("UPDATE " + stage + " AS " +
                        mysql_quote_identifier(alias.empty() ? table : alias) + " SET " +
                        std::string(set_list));
    // The other rows, read in a derived table of their own: the client's WHERE names the
    // columns unqualified, which beside the stage's would be ambiguous. Without an order: the
    // rows it leaves (the table after the UPDATE). With one: InnoDB checks each row's new key
    // as it writes it, so a key is taken by a row it leaves, or by a matched row it has not
    // moved yet (later in the order, with its old key), or by one it moved (the stage twice).
    const std::string order =
        order_column.empty() ? std::string() : mysql_quote_identifier(order_column);
    const std::string more =
        order.empty() ? std::string()
                      : ", " + order + " AS uniqguard_o, NOT (" + matched + ") AS uniqguard_l";
    const std::string also_on =
        order.empty() ? std::string()
                      : " AND (uniqguard_t.uniqguard_l OR uniqguard_t.uniqguard_o > uniqguard_s." +
                            order + ")";
    const std::string left = order.empty() ? " WHERE NOT (" + matched + ")" : std::string();
    std::vector<std::string> plain, locking;
    for (const auto* k : keys) {
        plain.push_back(key_answer(
            stage, "(SELECT " + key_list(*k) + more + " FROM " + target + as + left + ")",
            "uniqguard_t", *k, also_on));
        const std::string locked = locked_rows(target, as, stage, *k, more,
                                               order.empty() ? " AND NOT (" + matched + ")" : "");
        locking.push_back(key_answer(stage, locked, "uniqguard_t", *k, also_on));
    }
    out.probe = concat(plain);
    out.locking_probe = concat(locking);
    return out;
}

std::string mysql_staged_update_fill(std::string_view schema, std::string_view table,
                                     std::string_view alias, std::optional<std::string_view> where,
                                     const std::vector<std::string>& columns) {
    std::string list;
    for (const auto& c : columns) list += (list.empty() ? "" : ", ") + mysql_quote_identifier(c);
    const std::string as = alias.empty() ? "" : " AS " + mysql_quote_identifier(alias);
    const std::string matched = where ? "(" + std::string(*where) + ") IS TRUE" : "TRUE";
    // Every column by name (INVISIBLE ones too, which `*` leaves out); IGNORE: the rows are the
    // table's own, which strict mode may not take again (a zero date written under another
    // sql_mode); FOR UPDATE: the rows the UPDATE will lock, locked now, and read as it reads
    // them (the latest committed), not shared-locked first, which two such UPDATEs would turn
    // into a deadlock.
    return "INSERT IGNORE INTO " + qualified(schema, mysql_stage_name(schema, table)) + " (" +
           list + ") SELECT " + list + " FROM " + qualified(schema, table) + as + " WHERE " +
           matched + " FOR UPDATE";
}

}  // namespace uniqguard::guard
