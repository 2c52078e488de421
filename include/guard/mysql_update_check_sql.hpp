// The check the MySQL/MariaDB guard runs in the client's own session before an UPDATE that sets
// every key column of one or more guards to literals (proxy/mysql_guard.hpp): whether, after the
// UPDATE, more than one row would hold the new key. Pure text, as mysql_check_sql.hpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "guard/mysql_check_sql.hpp"

namespace uniqguard::guard {

// One guard's new key: the key every row the UPDATE matches ends with.
struct MySqlUpdateProbe {
    const MySqlKeyColumns* columns = nullptr;
    const MySqlKeyText* key = nullptr;  // no NULL part (a key with one never collides)
};

// One row, one column, one character per probe in order: '1' when the UPDATE matches at least
// one row and the rows it matches together with the rows it leaves that already hold the key
// are more than one, '0' otherwise.
//   SELECT CONCAT(COALESCE(SUM(m) > 0 AND SUM(m OR (k1) IS TRUE) > 1, 0), …)
//   FROM `s`.`t` [AS `alias`] WHERE m OR (k1) IS TRUE OR …
// m is `((<where>) IS TRUE)`, the rows the UPDATE changes (a WHERE that is NULL for a row leaves
// it), or 1 without a WHERE. `where` is the client's own text: the check runs in its session,
// so it reads as the UPDATE's does; `alias` is the UPDATE's alias for the table (empty: none).
std::string mysql_update_check_sql(std::string_view schema, std::string_view table,
                                   std::string_view alias, std::optional<std::string_view> where,
                                   const std::vector<MySqlUpdateProbe>& probes);

}  // namespace uniqguard::guard
