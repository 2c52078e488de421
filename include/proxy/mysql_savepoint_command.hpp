// A MySQL COM_QUERY that is one savepoint command, read without a parse, so that the guard can
// follow savepoints as InnoDB does (SessionClaims: a ROLLBACK TO undoes only the writes after
// its savepoint, and the COMMIT after it commits those before).
#pragma once

#include <optional>
#include <string_view>

#include "proxy/pg_session_claims.hpp"

namespace uniqguard::proxy {

// `SAVEPOINT name`, `ROLLBACK [WORK] TO [SAVEPOINT] name` or `RELEASE SAVEPOINT name`, alone in
// the text (blanks, plain comments and one `;` around it), the name a plain identifier
// (letters, digits, '_'), lower-cased: InnoDB compares savepoint names ignoring case. Anything
// else (a quoted name, an executable comment, a string of several statements) is not read.
std::optional<TransactionCommand> read_mysql_savepoint_command(std::string_view text);

}  // namespace uniqguard::proxy
