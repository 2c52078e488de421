// The per-server halves of describe_table (table_info.hpp): each fills the catalog facts of a
// TableInfo (names, columns, identity, engine, foreign keys pointing at it) in its server's
// catalog; table_info.cpp does the checks that are the same for both.
#pragma once

#include <string>

#include "table_info.hpp"

namespace uniqguard::app::audit {

// A catalog cell as text, NULL as "".
inline std::string text(const Row& row, std::size_t i) { return row.at(i).value_or(""); }

// `schema` empty: the first match along the session's search_path.
TableInfo read_postgres_table(ToolDb& db, const std::string& schema, const std::string& name);
TableInfo read_mysql_table(ToolDb& db, const std::string& schema, const std::string& name);

// Columns of single-column unique indexes whose column is NOT NULL (MySQL), for --order-by.
std::vector<std::string> mysql_unique_not_null_columns(ToolDb& db, const TableInfo& table);

}  // namespace uniqguard::app::audit
