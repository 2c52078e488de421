// What a MySQL/MariaDB guard knows of its table once its key set is loaded
// (proxy/mysql_key_set_loading): where the table is, its columns in order (an INSERT without a
// column list fills them in that order) and its key columns ready to key values. Written once,
// before the guard turns ready; read by every session afterwards.
#pragma once

#include <string>
#include <vector>

#include "guard/mysql_key_columns.hpp"

namespace uniqguard::guard {

struct MySqlGuardTable {
    std::string schema, name;          // as the server names them
    std::vector<std::string> columns;  // ORDINAL_POSITION order
    MySqlKeyColumns keys;
    // The table's PRIMARY KEY when it is one integer column (empty otherwise): an ON DUPLICATE
    // KEY UPDATE of an existing guard key names the existing row by it, so that the server's
    // own primary key makes the update (proxy/mysql_guard).
    std::string integer_primary_key;
    // Columns the server fills itself: AUTO_INCREMENT, and generated (VIRTUAL / STORED). A
    // staged INSERT … SELECT (proxy/mysql_guard_staged.cpp) cannot copy their values
    // from its stage table.
    std::vector<std::string> auto_increment_columns;
    // The PRIMARY KEY's columns (in the table's column order): a staged UPDATE takes the rows
    // in its order, as InnoDB's scan of the clustered index does.
    std::vector<std::string> primary_key_columns;
    std::vector<std::string> generated_columns;
};

}  // namespace uniqguard::guard
