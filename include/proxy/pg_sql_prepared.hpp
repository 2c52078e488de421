// SQL-level PREPARE / EXECUTE of writes to a guarded table. `PREPARE p AS INSERT INTO t …` names
// the table, but the write happens later, at `EXECUTE p(…)`, whose text does not name it. The
// guard keeps the body of each PREPARE that writes to a guarded table (SqlPreparedWrites) and
// runs each EXECUTE of that name as written, scanned after (as a MERGE: pg_write_plan.hpp
// `late_scan`). Which bodies qualify, and what an EXECUTE becomes, is plan_sql_prepare and
// plan_sql_execute in pg_write_plan.hpp; this file reads the two statements' texts and keeps
// the bodies.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sql/pg_lexer.hpp"

namespace uniqguard::proxy {

// `PREPARE name [(type, …)] AS statement`: the name as the server folds it, and where the
// statement begins in `text`. nullopt: not that form.
struct PrepareText {
    std::string name;
    std::size_t body_offset = 0;
};
std::optional<PrepareText> read_prepare(std::string_view text, sql::LexOptions lex);

// `[EXPLAIN [ANALYZE] [VERBOSE] [(options)]] EXECUTE name [(…)]`: the name as the server folds
// it (an identifier in lower case, a quoted one unquoted). nullopt: not that form.
std::optional<std::string> read_execute_name(std::string_view text, sql::LexOptions lex);

// The bodies of a session's SQL-level PREPAREs that write to a guarded table, by name.
//
// A name keeps every body prepared under it: a PREPARE of a name in use fails on the server
// (42P05) and the old statement stays, and a DEALLOCATE may fail too (in a failed transaction),
// so the proxy cannot tell from the client's text alone which body is live. An EXECUTE is
// judged against all of them (PgGuard::plan_sql_level). Nothing is ever forgotten within a
// session; bounded by max_bytes and max_bodies_per_name, past which a PREPARE is refused.
class SqlPreparedWrites {
  public:
    static constexpr std::size_t max_bytes = 1024 * 1024;  // names and bodies
    static constexpr std::size_t max_bodies_per_name = 8;

    // Keeps `body` under `name` (once: the same text again changes nothing). false: no room.
    bool add(const std::string& name, std::string_view body);
    // The bodies kept under `name`, or null.
    const std::vector<std::string>* bodies(const std::string& name) const;
    bool empty() const { return bodies_.empty(); }

  private:
    std::unordered_map<std::string, std::vector<std::string>> bodies_;
    std::size_t bytes_ = 0;
};

}  // namespace uniqguard::proxy
