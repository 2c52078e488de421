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
// it (an identifier in lower case, a quoted one unquoted, cut to 63 bytes at a character
// boundary). nullopt: not that form; "": a name the proxy cannot read (U&"…").
std::optional<std::string> read_execute_name(std::string_view text, sql::LexOptions lex);

// Every name that follows the word EXECUTE in `text`, by tokens (comments skipped), and in its
// string literals read as SQL again (`CREATE TABLE x AS EXECUTE p`, a DO block's `EXECUTE
// 'EXECUTE p(1)'`), folded as read_execute_name does; "" for a name it cannot read (U&"…", a
// string holding EXECUTE that does not decode). Errs towards finding names: a word EXECUTE in
// any string counts, not only in code that runs.
std::vector<std::string> names_after_execute(std::string_view text, sql::LexOptions lex);

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

    // A body as the server read it: its text, and whether standard_conforming_strings was on
    // (how its '…' strings lex: the setting may change before an EXECUTE).
    struct Body {
        std::string sql;
        bool standard_strings = true;
        bool operator==(const Body&) const = default;
    };
    // Keeps `body` under `name` (once: the same body again changes nothing). false: no room.
    bool add(const std::string& name, std::string_view body, bool standard_strings);
    // The bodies kept under `name`, or null.
    const std::vector<Body>* bodies(const std::string& name) const;
    bool empty() const { return bodies_.empty(); }

  private:
    std::unordered_map<std::string, std::vector<Body>> bodies_;
    std::size_t bytes_ = 0;
};

}  // namespace uniqguard::proxy
