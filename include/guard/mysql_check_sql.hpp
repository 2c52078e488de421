// The SQL text the MySQL/MariaDB guard sends in the client's own session (the counterpart of
// pg_check_sql.hpp): the query that asks the server which suspected keys exist, and the SIGNAL
// statement that takes the place of a statement the guard turns down, so that the server itself
// answers it (ERR with the client's sequence id, its transaction going on as after any failed
// statement). Pure text; every value goes in as hex, so neither the session's character set
// nor its sql_mode (NO_BACKSLASH_ESCAPES, ANSI_QUOTES) changes how the server reads it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "guard/key_normalizer.hpp"
#include "guard/mysql_key_columns.hpp"

namespace uniqguard::guard {

// One key part of a row, as the guard shows and compares it: the value as the server stores it
// (an integer or DECIMAL as its digits, "1.50" with the column's scale; a string as its UTF-8
// bytes, a CHAR column's trailing spaces cut), or nullopt for NULL.
using MySqlKeyText = std::vector<std::optional<std::string>>;

// The stored value of one key part: integers and DECIMALs from their canonical bytes (what the
// key functions computed, so a literal 2.5 into an INT shows as 3), strings from the literal's
// bytes (`literal`, unescaped, as the client sent them in utf8mb4/utf8mb3). nullopt when the part
// is not ok.
std::optional<std::string> mysql_key_part_text(const MySqlKeyColumnType& type,
                                               const NormalizedValue& part,
                                               std::string_view literal);

// `name` quoted with backquotes (a backquote inside doubled).
std::string mysql_quote_identifier(std::string_view name);

// A string as an expression that reads the same under every sql_mode (no quoting rule to get
// wrong): CONVERT(UNHEX('…') USING utf8mb4).
std::string mysql_string_expression(std::string_view s);

// One key part's value as SQL: an integer or DECIMAL as its digits; a string as
// CONVERT(_utf8mb4 X'…' USING charset) COLLATE collation (see below).
std::string mysql_key_value_sql(const MySqlKeyColumns::Column& column, const std::string& value);

// The condition that a row of `schema`.`table` has this key: `k1` = 2 AND `k2` = <string>, a
// string compared in the column's own collation after the conversion the server does when it
// stores it (CONVERT(... USING charset)), so the comparison is the unique index's.
std::string mysql_key_condition(const MySqlKeyColumns& columns, const MySqlKeyText& key);

// One query for many keys: a single row, a single column, one character per key in order: '1'
// when a row with that key exists (as the client's session sees the table: its own uncommitted
// rows count, rows deleted by it do not), '0' otherwise.
//   SELECT CONCAT(EXISTS(SELECT 1 FROM `s`.`t` WHERE …), EXISTS(…), …)
struct MySqlKeyProbe {
    std::string_view schema, table;
    const MySqlKeyColumns* columns = nullptr;
    const MySqlKeyText* key = nullptr;
};
// `isolation_variable` (@@tx_isolation on MariaDB, @@transaction_isolation on MySQL 8), when
// not empty: the answer starts with 'R' when the session's isolation is REPEATABLE READ (its
// reads in a transaction see a snapshot, not the latest commits), else 'C'.
std::string mysql_exists_sql(const std::vector<MySqlKeyProbe>& probes,
                             std::string_view isolation_variable = {});

// MariaDB's own text for a unique key violation: Duplicate entry '2-1' for key 'NAME'. The parts
// are joined by '-', NULL as "NULL"; the entry is printed as the server's `%-.64T` does (over 64
// bytes: cut to at most 61 at a character boundary, then "...") and the key name as `%-.192s`.
std::string mysql_duplicate_message(const MySqlKeyText& key, std::string_view key_name);

// A statement the server answers with exactly this error: SIGNAL SQLSTATE '…' SET MYSQL_ERRNO =
// n, MESSAGE_TEXT = _utf8mb4 X'…'. MariaDB runs SIGNAL outside stored programs too.
std::string mysql_signal_sql(std::uint16_t error_number, std::string_view sqlstate,
                             std::string_view message);

}  // namespace uniqguard::guard
