// The statements the MySQL/MariaDB guard sends in the client's own session in place of an
// INSERT … SELECT into a guarded table, whose rows are not in its text (proxy/mysql_guard.hpp,
// docs/mysql.md "INSERT … SELECT"): the client's statement runs into a temporary stage table
// made LIKE the guarded one (so its values are converted, defaulted and checked as the table
// would), the stage's keys are read and checked, and then the stage's rows are copied into the
// table. Pure text, as mysql_check_sql.hpp.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "guard/mysql_check_sql.hpp"

namespace uniqguard::guard {

struct MySqlStagedInsertSql {
    std::string drop_stage;    // DROP TEMPORARY TABLE IF EXISTS <stage>
    std::string create_stage;  // CREATE TEMPORARY TABLE <stage> LIKE <table>
    std::string fill;          // INSERT INTO <stage> <the client's text after its table name>
    // One row, one column: per key (guard) in order, joined by ';', the answer of
    // mysql_update_check_sql's part of the key: "<n>/<key>,<key>,…", each distinct key (no NULL
    // part) of the stage's rows, grouped in the columns' collations, its parts' stored values
    // in utf8mb4, hex, joined by ':', ending with '.', preceded by '!' when the stage holds it
    // twice or the table already holds it (a stage row's spelling).
    std::string probe;
    // INSERT INTO <table> (<columns>) SELECT <columns> FROM <stage>
    std::string copy;
};

// The stage of `schema`.`table` for one session: a temporary table in the same database (so a
// session without a current database can name it), its name fixed per table.
std::string mysql_stage_name(std::string_view schema, std::string_view table);

// `after_table_name`: the client's statement from just after its table's name to its end
// (column list and SELECT); `copied`: the columns the copy names, in order (the client's
// list, and the key columns it leaves to their defaults); `keys`: each guard's key columns.
MySqlStagedInsertSql mysql_staged_insert_sql(std::string_view schema, std::string_view table,
                                             std::string_view after_table_name,
                                             const std::vector<std::string>& copied,
                                             const std::vector<const MySqlKeyColumns*>& keys);

}  // namespace uniqguard::guard
