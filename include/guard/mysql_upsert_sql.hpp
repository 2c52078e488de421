// What the MySQL/MariaDB guard sends for an INSERT … ON DUPLICATE KEY UPDATE of one row whose
// guard key exists on the server (the table has no unique index on it, so the server alone
// would insert a second row): the query that finds the existing row, and the client's statement
// with that row's primary key value added, so that the server's own PRIMARY KEY conflict makes it
// update that row and report what it reports for a unique key's update (affected rows 2, or 0 /
// 1 when nothing changed; the updated row's id as the insert id). Pure text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "guard/mysql_check_sql.hpp"
#include "sql/statement.hpp"

namespace uniqguard::guard {

// One row, one column: "<rows with the key>:<the smallest primary key value among them>", as
// the client's session sees the table ("0:" when none).
//   SELECT CONCAT(COUNT(*), ':', IFNULL(MIN(`id`), '')) FROM `s`.`t` WHERE <key condition>
std::string mysql_upsert_probe_sql(const MySqlKeyProbe& probe, std::string_view primary_key);

struct MySqlUpsertProbeAnswer {
    std::uint64_t rows = 0;
    std::string row_id;  // an integer's digits (with its sign); empty when rows == 0
};
// nullopt when the answer is not of that shape (a row id that is not an integer).
std::optional<MySqlUpsertProbeAnswer> parse_mysql_upsert_probe(std::string_view answer);

// `text` (an INSERT … (cols) VALUES (row) ON DUPLICATE KEY UPDATE …) with `primary_key` added
// at the end of its column list and `row_id` at the end of its one row (`row`: the row's range
// in `text`, parenthesised). nullopt when the text is not of that shape: no column list right
// before VALUES (a comment between them, none at all), an empty list, an executable comment.
std::optional<std::string> mysql_upsert_naming_row(std::string_view text, sql::SourceRange row,
                                                   std::string_view primary_key,
                                                   std::string_view row_id);

// Whether `name` occurs in `text` as a whole word (ASCII case ignored): the ON DUPLICATE KEY
// UPDATE clause may read the primary key, whose value the rewrite changes.
bool mysql_mentions_word(std::string_view text, std::string_view name);

}  // namespace uniqguard::guard
