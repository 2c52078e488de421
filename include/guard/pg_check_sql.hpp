// The SQL the guard runs inside the client's own server session (SPEC §4: confirmation "in the
// client's own session, so that the client's own uncommitted changes count").
//
// A suspected duplicate is judged by the server itself, in a PL/pgSQL DO block sent right after
// (INSERT) or right before (UPDATE) the client's statement, in the same transaction: it counts the
// rows with the key and, for `reject`, raises the unique violation with the fields the server's
// own unique index would give (SQLSTATE 23505, message, `Key (...)=(...) already exists.`
// built from the server's output functions, schema, table, constraint). Because the server raises
// it, the client's transaction fails exactly as it would on a real index (25P02 afterwards, the
// rest of a simple-query string skipped, the extended protocol skipping to Sync, an implicit
// transaction rolled back with the INSERT in it). The session strips the PL/pgSQL context and
// source-location fields before the client sees the error.
//
// Values are SQL expressions: the literal text from the client's statement, or a Bind
// parameter rendered by parameter_as_sql (pg_sql_literal.hpp). Each is wrapped as
// CAST((expr) AS column_type), which reads it as the INSERT's assignment does.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "guard/guard_catalog.hpp"

namespace uniqguard::guard {

// The COLUMN field of the check's error starts with this, then the event's number.
inline constexpr std::string_view event_marker_prefix = "uniqguard:event:";

// A key as SQL: one expression per key column, in the guard's column order; nullopt = NULL.
using KeySql = std::vector<std::optional<std::string>>;

// One event of an INSERT's rows, in row order, where a duplicate may arise.
struct KeyEvent {
    enum class Kind {
        maybe_existing,  // first occurrence of a key whose fingerprint is in the key set
        repeat,          // a later occurrence of a key already in this statement
    };
    Kind kind = Kind::maybe_existing;
    std::size_t key = 0;  // index into the distinct keys
};

struct InsertCheck {
    std::vector<KeySql> keys;              // distinct keys of the statement
    std::vector<std::size_t> occurrences;  // per distinct key: rows of the statement with it
    std::vector<KeyEvent> events;          // in row order
};

// reject: the DO block to run right after the INSERT. The first event that is a duplicate raises,
// as the first conflicting row would on a real index.
std::string insert_reject_check(const GuardTable& table, const config::Guard& guard,
                                const InsertCheck& check);

// log: a SELECT returning, per event, 1 when it is a duplicate and 0 otherwise (one row).
std::string insert_log_probe(const GuardTable& table, const InsertCheck& check);

struct UpdateCheck {
    KeySql key;         // the key the statement sets
    std::string alias;  // the statement's alias of the table, if any
    std::string where;  // the WHERE condition's text (empty: every row)
};

// reject: the DO block to run right before an UPDATE that sets every key column: a row the
// UPDATE leaves alone already has the new key, or the UPDATE gives two rows the key.
std::string update_reject_check(const GuardTable& table, const config::Guard& guard,
                                const UpdateCheck& check);
// log: a SELECT returning one row with 1 when that UPDATE would make a duplicate, else 0.
std::string update_log_probe(const GuardTable& table, const UpdateCheck& check);

// A DO block that only raises `sqlstate` with `message` and `hint`: how the proxy refuses a
// statement so that the server's transaction state follows, as after the server's own error.
std::string refusal_block(std::string_view sqlstate, std::string_view message,
                          std::string_view hint = {});

}  // namespace uniqguard::guard
