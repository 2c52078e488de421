// Whether an UPDATE's WHERE reads the same rows when the proxy's check evaluates it (several
// times per row) as when the UPDATE then does: a condition that changes a user variable
// (`@n := @n + 1`), reads one, draws at random (RAND(), UUID()), advances a sequence, reads
// the clock or the last statement's counters, calls a stored function, runs a subquery (which
// may itself ORDER BY RAND() LIMIT 1) or holds an executable comment (the WHERE's text range
// may cut it) would let the check pass rows the UPDATE then moves onto one key. Read from its
// tokens with an allow-list of deterministic built-in functions, so anything not known is
// refused.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "sql/mysql_lexer.hpp"

namespace uniqguard::guard {

// nullopt: repeatable; else what in it is not (for the refusal's text).
std::optional<std::string> mysql_unrepeatable_in_where(std::string_view where,
                                                       const sql::MySqlDialect& dialect);

}  // namespace uniqguard::guard
