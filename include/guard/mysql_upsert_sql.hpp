// What the MySQL/MariaDB guard sends for an INSERT … ON DUPLICATE KEY UPDATE whose rows' guard
// keys exist on the server (the table has no unique index on them, so the server alone would
// insert second rows): the query that finds each existing row, and the client's statement with
// each row's primary key value added (NULL, the counter's, for a row whose key is new), so that
// the server's own PRIMARY KEY conflicts make it update those rows and report what it reports
// for a unique key's updates (affected rows 2 per updated row, or 0 / 1 when nothing changed;
// the updated row's id as the insert id). Pure text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "guard/mysql_check_sql.hpp"
#include "sql/statement.hpp"

namespace uniqguard::guard {

// One row, one column: "<rows with the key>:<the smallest primary key value among them>", as
// the client's session sees the table ("0:0" when none).
//   SELECT CONCAT(COUNT(*), ':', IFNULL(MIN(`id`), 0)) FROM `s`.`t` WHERE <key condition>
// `locking`: … FOR UPDATE, a locking read: the latest committed rows (waiting for a
// transaction that is changing one), locked until the session's transaction ends, so that the
// row named by its id still holds the key when the statement runs.
std::string mysql_upsert_probe_sql(const MySqlKeyProbe& probe, std::string_view primary_key,
                                   bool locking = false);
// The same for several keys at once: their answers joined by commas, in `probes` order
// (the form above for one).
//   SELECT CONCAT_WS(',', (SELECT CONCAT(…) FROM … WHERE <key 1>), (SELECT …), …)
std::string mysql_upsert_probes_sql(const std::vector<MySqlKeyProbe>& probes,
                                    std::string_view primary_key, bool locking = false);

struct MySqlUpsertProbeAnswer {
    std::uint64_t rows = 0;
    std::string row_id;  // an integer's digits (with its sign); empty when rows == 0
};
// nullopt when the answer is not of that shape (a row id that is not an integer).
std::optional<MySqlUpsertProbeAnswer> parse_mysql_upsert_probe(std::string_view answer);
// The answers of mysql_upsert_probes_sql; nullopt unless there are exactly `count`, each of
// the shape above.
std::optional<std::vector<MySqlUpsertProbeAnswer>> parse_mysql_upsert_probes(
    std::string_view answer, std::size_t count);

// `text` (an INSERT … (cols) VALUES (row), (row) … ON DUPLICATE KEY UPDATE …) with
// `primary_key` added at the end of its column list and row_ids[i] at the end of row i (`rows`:
// the rows' ranges in `text`, in order, each parenthesised; a row id is an integer's digits or
// NULL). nullopt when the text is not of that shape: no column list right before the first
// row's VALUES (a comment between them, none at all), an empty list or row, an executable
// comment, as many ids as rows not given.
std::optional<std::string> mysql_upsert_naming_rows(std::string_view text,
                                                    const std::vector<sql::SourceRange>& rows,
                                                    std::string_view primary_key,
                                                    const std::vector<std::string>& row_ids);

// Whether `name` occurs in `text` as a whole word (ASCII case ignored): the ON DUPLICATE KEY
// UPDATE clause may read the primary key, whose value the rewrite changes.
bool mysql_mentions_word(std::string_view text, std::string_view name);

}  // namespace uniqguard::guard
