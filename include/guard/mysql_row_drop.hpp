// What the MySQL/MariaDB server gets in place of an INSERT some of whose rows the guard drops
// (action "ignore", or INSERT IGNORE: a real unique key would skip them): the INSERT's own text
// without those rows, or, when every row goes, a statement the server answers as it answers an
// INSERT IGNORE that inserted nothing. Pure text.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sql/statement.hpp"

namespace uniqguard::guard {

// `text` with the dropped rows cut out: the text before the first row, the kept rows' text as
// written joined by ", ", the text after the last row (so IGNORE, the column list, RETURNING and
// comments outside the rows stay). `rows` are the rows' ranges in `text` (InsertStatement::
// row_ranges), in order; `dropped` says which go. nullopt when no row is kept, or when the
// ranges do not fit `text` or an executable comment lies among the rows (then the proxy cannot
// cut the statement).
std::optional<std::string> mysql_insert_without_rows(std::string_view text,
                                                     std::span<const sql::SourceRange> rows,
                                                     const std::vector<bool>& dropped);

// A statement whose OK reads as a real INSERT IGNORE's whose one row was a duplicate: 0
// affected rows, last insert id 0, one warning, and SHOW WARNINGS then lists `Warning 1062
// <duplicate_message>` alone (a SIGNAL of class 01 is a warning; it replaces the session's
// earlier warnings, as a statement that uses a table does).
std::string mysql_rows_dropped_sql(std::string_view duplicate_message);

}  // namespace uniqguard::guard
