// The check the MySQL/MariaDB guard runs in the client's own session before an UPDATE that sets
// key columns of one or more guards to literals (proxy/mysql_guard.hpp): whether, after the
// UPDATE, more than one row would hold one key. Pure text, as mysql_check_sql.hpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "guard/mysql_check_sql.hpp"

namespace uniqguard::guard {

// One guard's part of the check. `key`: per key column, the literal the UPDATE sets it to (none
// NULL: a key with a NULL never collides). `set`: empty when the UPDATE sets every key column
// (every matched row ends with `key`); else which columns it sets (`key` has nullopt for the
// others), and each matched row's new key takes its other parts from the row.
struct MySqlUpdateProbe {
    const MySqlKeyColumns* columns = nullptr;
    const MySqlKeyText* key = nullptr;
    std::vector<bool> set = {};
};

// One row, one column: the probes' answers in order, joined by ';'. m is `((<where>) IS TRUE)`,
// the rows the UPDATE changes (a WHERE that is NULL for a row leaves it), or 1 without a WHERE;
// `where` is the client's own text (the check runs in its session, so it reads as the UPDATE's
// does); `alias` the UPDATE's alias for the table (empty: none).
//   whole key: '1' when the UPDATE matches a row and the rows it matches together with the rows
//     it leaves that already hold the key are more than one, else '0':
//       (SELECT COALESCE(SUM(m) > 0 AND SUM(m OR (k) IS TRUE) > 1, 0) FROM `s`.`t` WHERE …)
//   part of the key: "<n>/<key>,<key>,…": each distinct key (no NULL part) a matched row ends
//     with, among the rows after the UPDATE (grouped in the columns' collations), n of them;
//     each key as its parts' stored values in utf8mb4, hex, joined by ':', preceded by '!' when
//     more than one row would hold it (a matched row's spelling of it). The list is cut at the
//     session's group_concat_max_len: fewer keys than n.
std::string mysql_update_check_sql(std::string_view schema, std::string_view table,
                                   std::string_view alias, std::optional<std::string_view> where,
                                   const std::vector<MySqlUpdateProbe>& probes);

}  // namespace uniqguard::guard
