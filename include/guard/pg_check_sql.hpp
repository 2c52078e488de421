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

// A SELECT returning, per event, 1 when it is a duplicate and 0 otherwise (one row). `after`:
// run after the INSERT (log: the statement's own rows count), else before it (ignore).
std::string insert_probe(const GuardTable& table, const InsertCheck& check, bool after);

// The pieces of an INSERT … VALUES to rewrite (proxy/pg_write_plan.hpp's InsertText, in the
// guard layer's terms).
struct InsertRewrite {
    std::string alias;
    std::vector<std::string> columns;              // filled by the rows, in order
    std::vector<std::vector<std::string>> values;  // per row, each value as SQL
    std::string overriding;                        // "", "OVERRIDING SYSTEM VALUE", ...
    std::string returning;                         // after RETURNING; empty: none
    bool keep_conflict_clause = false;             // append ON CONFLICT DO NOTHING
    std::vector<std::size_t> drop_rows;            // rows known to repeat an earlier row's key
};

// The INSERT rewritten to skip the rows whose key exists (as ON CONFLICT DO NOTHING on a real
// index would): INSERT INTO t (cols) SELECT … FROM (VALUES …) WHERE NOT EXISTS (…) ORDER BY the
// rows' order. Rows with NULL in a NOT NULL column are kept, so the server reports 23502 for
// them first, as it would.
std::string insert_skipping_duplicates(const GuardTable& table, const config::Guard& guard,
                                       const InsertRewrite& insert);

struct UpdateCheck {
    // Per key column: the value the UPDATE sets (nullopt = NULL), or, when `assigned[i]` is
    // false, the column keeps each row's own value.
    KeySql key;
    std::vector<bool> assigned;
    std::string alias;  // the statement's alias of the table, if any
    std::string where;  // the WHERE condition's text (empty: every row)
    bool nulls_distinct = true;
};

// The rule, on the rows as they will be after the UPDATE: a row whose key the UPDATE changes
// ("moved") is a duplicate when another row ends with the same key, whether that row stays
// or moves too. A row whose key does not change never conflicts, so that saving a row of a
// legacy duplicate group with its key unchanged passes (SPEC §4).
//
// reject: the DO block to run right before the UPDATE; it raises the violation for the first
// moved row that conflicts.
std::string update_reject_check(const GuardTable& table, const config::Guard& guard,
                                const UpdateCheck& check);
// log: a SELECT returning one row with 1 when that UPDATE would make a duplicate, else 0.
std::string update_log_probe(const GuardTable& table, const UpdateCheck& check);
// The keys the moved rows will have, one row each (the key columns written by their output
// functions; NULL as NULL): the key set must know them before they exist.
std::string update_new_keys(const GuardTable& table, const UpdateCheck& check);

// A DO block that only raises `sqlstate` with `message` and `hint`: how the proxy refuses a
// statement so that the server's transaction state follows, as after the server's own error.
std::string refusal_block(std::string_view sqlstate, std::string_view message,
                          std::string_view hint = {});

}  // namespace uniqguard::guard
