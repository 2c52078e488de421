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
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "guard/guard_catalog.hpp"
#include "sql/pg_lexer.hpp"

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

// reject: the DO block to run right after the INSERT, given every row's key in row order. The
// server finds the first row that a real index would have refused: one whose key an earlier row
// of the statement has, or that more rows have now than the statement wrote (an older row); it
// raises the violation for that row, with the row's number (0-based) in the COLUMN marker.
//
// `before_insert`: the same judgement made before the INSERT runs (an older row is any row with
// the key), for an INSERT that will fail anyway at a later row (a NULL in a NOT NULL key
// column): a real index refuses the earlier duplicate first. Its own errors (a value that does
// not convert) are swallowed there, so that the INSERT reports them itself.
//
// `committed_rows` (ascending): rows whose key another transaction committed after this one
// began (KeyClaims::committed_after). Under REPEATABLE READ or SERIALIZABLE that row is not in
// the snapshot the check reads, while a unique index sees it and refuses the key (23505, tested
// against the server): such a row is refused as a duplicate there, whatever the table shows.
std::string insert_reject_check(const GuardTable& table, const config::Guard& guard,
                                const std::vector<KeySql>& rows, bool nulls_distinct,
                                bool before_insert = false,
                                const std::vector<std::size_t>& committed_rows = {});

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
    // The client's ON CONFLICT … DO NOTHING, appended as is; empty: none.
    std::string conflict_clause;
    std::size_t conflict_clause_origin = std::string::npos;  // its place in the client's text
    bool nulls_distinct = true;                              // false: NULLs in keys compare equal
    std::vector<std::size_t> drop_rows;  // rows known to repeat an earlier row's key
    // Where each value came from in the client's text (empty: not the client's text, as when
    // parameters were written in): the rewrite reports where it placed them.
    std::vector<std::vector<std::size_t>> value_origins;
};

// SQL of the hex of `text_sql`'s bytes in the database's encoding (the client_encoding would
// convert a plain text on the way).
std::string as_database_bytes_hex(const std::string& text_sql);

// The name of a temporary table of the proxy's: `prefix` and a hash of `parts` (what the table's
// shape depends on, so that another shape gets another table).
std::string temp_table_name(std::string_view prefix, const std::vector<std::string>& parts);

// A GRANT of the proxy's temporary table `name` to every role: a session that changes its role
// (SET ROLE, SET SESSION AUTHORIZATION) keeps using the table the first role made, which no
// other session can see anyway.
std::string temp_table_for_every_role(const std::string& name);

// ` FROM [ONLY] <the table> [AS alias]`: ONLY for a plain table, whose inheritance children a
// unique index does not cover.
std::string from_table(const GuardTable& table, const std::string& alias);

// A piece of the client's text copied verbatim into SQL the proxy built.
struct CopiedText {
    std::size_t at;      // byte offset in the built SQL
    std::size_t origin;  // byte offset in the client's text
    std::size_t length;
};

// The INSERT rewritten to skip the rows whose key exists (as ON CONFLICT DO NOTHING on a real
// index would): INSERT INTO t (cols) SELECT … FROM (VALUES …) WHERE NOT EXISTS (…) ORDER BY the
// rows' order. Rows with NULL in a NOT NULL column are kept, so the server reports 23502 for
// them first, as it would.
// Every value is cast to its column's type, as the INSERT's assignment reads it. A value whose
// explicit cast makes it a string going into a non-string column is one the assignment refuses
// (42804): `assignable_to` tells the caller to leave such a statement to the server.
// `copies` receives where the client's values landed.
std::string insert_skipping_duplicates(const GuardTable& table, const config::Guard& guard,
                                       const InsertRewrite& insert,
                                       std::vector<CopiedText>* copies = nullptr);
// False when `value` ends in an explicit cast to a string type (::text, CAST(.. AS varchar))
// and `column` is not of a string type: the INSERT's assignment would refuse it.
bool assignable_to(std::string_view value, const TableColumn& column, sql::LexOptions lex = {});

struct UpdateCheck {
    // Per key column: the value the UPDATE sets (nullopt = NULL), or, when `assigned[i]` is
    // false, the column keeps each row's own value.
    KeySql key;
    std::vector<bool> assigned;
    std::string alias;  // the statement's alias of the table, if any
    std::string where;  // the WHERE condition's text (empty: every row)
    // UPDATE … FROM: the FROM list's text (empty: none). The moved rows are the target's rows
    // the join matches, each once: a row that several join rows match is updated once by the
    // server, with one of them, which PostgreSQL does not say (docs/guard.md).
    std::string from;
    bool nulls_distinct = true;
};

// The rule, on the rows as they will be after the UPDATE: a row whose key the UPDATE changes
// ("moved") is a duplicate when another row ends with the same key, whether that row stays
// or moves too. A row whose key does not change never conflicts, so that saving a row of a
// legacy duplicate group with its key unchanged passes (SPEC §4).
//
// The verdict is reached before the UPDATE and delivered after it, so that the UPDATE's own
// errors (a type mismatch, NOT NULL, CHECK) come first, as on a real index: `update_precheck`
// (a DO block before the UPDATE) judges the rows and leaves the verdict in the transaction-local
// setting uniqguard.verdict (and, `with_keys`, the moved rows' new keys as a JSON array of arrays
// of text in uniqguard.keys); an error of its own is swallowed, since the UPDATE reports it.
std::string update_precheck(const GuardTable& table, const UpdateCheck& check, bool with_keys);
// reject: after the UPDATE, raises the violation the precheck found (and clears the setting).
// `whole_key` (every key column set to a value): also when more rows have that key now than the
// precheck expected, and at least two (a row another session committed between the precheck and
// the UPDATE, matching its WHERE, was moved unjudged).
std::string update_verdict(const GuardTable& table, const config::Guard& guard,
                           const KeySql* whole_key = nullptr);
// log: after the UPDATE, one row: 1 when the precheck found a duplicate, else 0.
std::string update_verdict_probe();
// After the UPDATE, one row: the JSON of uniqguard.keys (then cleared), as hex of its bytes in
// the database's encoding (whatever the session's client_encoding).
std::string update_keys_probe();

// `sql` with every plain, E'' and U&'' string literal rewritten as an E'' literal of the same
// value, read under `standard_conforming_strings`. For client text placed inside a DO block:
// PL/pgSQL parses the block when it runs, under the settings of that moment (a SET earlier in
// the same query string), and would warn again about every backslash the client wrote.
// Unchanged where a literal does not decode (the server will refuse the client's statement).
// `client_utf8` false (another client_encoding): E'' and U&'' literals stay as written, since
// their Unicode escapes decode to UTF-8 bytes that encoding would read as other characters.
std::string canonical_string_literals(std::string_view sql, bool standard_conforming_strings,
                                      bool client_utf8 = true);
// False when a string literal of `sql` does not decode under that setting (U&'' with it off, a
// bad escape): the server refuses the whole query string while parsing it.
bool string_literals_decode(std::string_view sql, bool standard_conforming_strings);

// The keys as the table stores them, one row per key (each column written by its type's output
// function, sent as hex of its bytes in the database's encoding; NULL as NULL): how the key set
// learns keys the proxy could not fingerprint from the statement's text (a cast it does not
// follow, a session setting or client encoding it does not model).
std::string stored_keys_probe(const GuardTable& table, const std::vector<KeySql>& keys);

// COPY … FROM STDIN, run after the COPY in its transaction: `rows` are the COPY's suspected
// rows (a key whose fingerprint the key set had, or that it could not fingerprint), in line
// order. reject: a DO block raising the violation for the first row a real index refuses, with
// its index in `rows` in the COLUMN marker. log: a SELECT of those rows' indexes, one per row.
std::string copy_reject_check(const GuardTable& table, const config::Guard& guard,
                              const std::vector<KeySql>& rows, bool nulls_distinct);
std::string copy_probe(const GuardTable& table, const std::vector<KeySql>& rows,
                       bool nulls_distinct);

// action "ignore": the COPY's suspected rows are held back by the proxy and copied, after the
// client's data, into a temporary table of the COPY's columns (dropped at commit), then inserted
// into the table in their order unless their key exists (or an earlier held row has it), as ON
// CONFLICT DO NOTHING on a real index would. `columns`: the COPY's columns.
inline constexpr std::string_view copy_staging_table = "pg_temp.uniqguard_copy_rows";
std::string copy_staging_create(const GuardTable& table, const std::vector<std::string>& columns);
// One row per held row that is skipped: its number (0-based) among the held rows.
std::string copy_ignore_probe(const GuardTable& table, bool nulls_distinct);
std::string copy_ignore_insert(const GuardTable& table, const std::vector<std::string>& columns,
                               bool nulls_distinct);
std::string copy_staging_drop();

// INSERTs whose keys come late (INSERT … SELECT, DEFAULT or a function in a key column): the
// proxy cannot read the keys before the statement runs, so the server reports them as it
// writes the rows. The client's INSERT runs unchanged inside a writable CTE,
//   WITH uniqguard_ins AS (<the client's INSERT> RETURNING <key columns>)
//   INSERT INTO pg_temp.<keys table> (...) SELECT ... FROM uniqguard_ins
// whose command tag is the client's own (`INSERT 0 n`, n = the rows its INSERT wrote); the
// session's keys table (a temporary table of the key columns' types, created on first use)
// then holds the new keys in row order. After it, in the same transaction: the keys as the
// table stores them (the key set learns them and the session claims them), the check, and the
// table emptied. The check takes a transaction-scoped advisory lock per key in row order, so
// that two such INSERTs of one new key wait for each other as on a unique index (the server
// times the wait, finds deadlocks and cancels it), then raises the unique violation for the
// first row a real index refuses, with the rule of insert_reject_check.
// Where in a late check more rows to refuse go (with_committed_rows): the session's keys table
// (pg_temp-qualified) and the offset in the check; `at` npos: nowhere.
struct CommittedRowsSlot {
    std::string keys_table;
    std::size_t at = std::string::npos;
};
struct LateInsertSql {
    std::string prepare;       // a DO block creating the keys table if the session has none
    std::string prefix;        // before the client's INSERT
    std::string suffix;        // after it (starts on a new line: the INSERT may end in a comment)
    std::string keys_probe;    // one row per new key: its columns as stored_keys_probe's
    std::string reject_check;  // the DO block raising the violation (COLUMN marker: the row)
    std::string clear;         // empties the keys table
    CommittedRowsSlot committed;  // where reject_check can refuse more rows
};
// `check` (a LateInsertSql's reject_check) refusing also the rows `rows` (0-based, in the keys
// table's order) under REPEATABLE READ and SERIALIZABLE: keys another transaction committed
// after this one's snapshot was taken, which the check's snapshot does not see (the index
// does: 23505). `check` unchanged when `slot` has no place or `rows` is empty.
std::string with_committed_rows(std::string_view check, const CommittedRowsSlot& slot,
                                const std::vector<std::size_t>& rows);
// `returning`: the client's INSERT has a RETURNING list; the key columns are added at its end
// (as uniqguard_k1…) and the statement returns its rows, those columns last (the session
// removes them), as `SELECT n` (the session makes it the client's `INSERT 0 n`).
// `hoisted`: the client's INSERT has a data-modifying WITH list, which PostgreSQL refuses nested
// in a CTE; the prefix (`, uniqguard_ins AS (`) goes between that list and the INSERT, so that
// the client's CTEs head the wrapper:
//   WITH <the client's CTEs>, uniqguard_ins AS (INSERT … RETURNING <key columns>) INSERT INTO …
// `extra_prepare`: more PL/pgSQL statements for the `prepare` block (pg_late_skip_sql.hpp).
// `qualifier` (SQL, quoted): the key columns returned are its (`e."user_id"`), for an UPDATE
// wrapped alike, whose FROM list may have columns of the same names; empty: bare names.
// `command`: the client's statement's, named by the `prepare` block's refusal in a read-only
// transaction (25006, as the server's own); empty: the block returns there instead.
LateInsertSql late_insert_sql(const GuardTable& table, const config::Guard& guard,
                              bool nulls_distinct, bool returning = false, bool hoisted = false,
                              std::string_view extra_prepare = {}, std::string_view qualifier = {},
                              std::string_view command = "INSERT");

// A statement that writes the guarded table in a way no wrapper reaches: a MERGE (PostgreSQL
// 15's MERGE has no RETURNING), a statement whose WITH list writes the table. Its new keys are
// found after it. `prepare` also writes a mark row (pg_temp.uniqguard_merge_mark) in the
// statement's (sub)transaction; the client's statement runs unchanged (prefix and suffix are
// empty); `keys_probe` copies the key of every row with the mark's xmin and a later cmin, the
// rows the statement inserted or updated, into the keys table and reads them back; then the
// same check and clear as a late INSERT's. That scan reads the whole table once per statement.
// In a read-only transaction `prepare` does nothing: the client's statement fails by itself.
LateInsertSql late_scan_sql(const GuardTable& table, const config::Guard& guard,
                            bool nulls_distinct);

// `INSERT … VALUES … ON CONFLICT (guard key) DO UPDATE SET … [WHERE …]` (SPEC §4: the existing
// row is updated), which the server refuses without a unique index on the key (42P10 / 42704).
// The proxy runs it as one statement of writable CTEs over the proposed rows,
//   WITH uniqguard_x (…) AS (VALUES …),                       -- the rows, typed as the columns
//        uniqguard_u AS (UPDATE t SET … FROM uniqguard_x WHERE key matches [AND the WHERE]),
//        uniqguard_i AS (INSERT INTO t … SELECT … WHERE NOT EXISTS (a row with the key))
//   SELECT the count of both
// whose one row the session turns into the client's `INSERT 0 n`. EXCLUDED.col in the SET list
// and the WHERE reads the proposed row's value. After it, in its transaction, upsert_check
// raises what the server would (21000: two proposed rows with one key), and refuses (0A000,
// naming the guard) a proposed key that more than one row now has (legacy duplicates: an index
// would never have two, and the UPDATE changed both); either error undoes the statement with
// its transaction, as the server's own would. The statement's own errors come first.
struct UpsertRewrite {
    std::string alias;                             // INSERT INTO t AS alias
    std::vector<std::string> columns;              // the columns the VALUES rows fill
    std::vector<std::vector<std::string>> values;  // per row, each value as SQL
    std::string overriding;                        // "", "OVERRIDING SYSTEM VALUE", ...
    // After DO UPDATE SET, up to its WHERE; the WHERE's condition (empty: none). EXCLUDED
    // references already rewritten (excluded_column).
    std::string set_list;
    std::string where;
    // After RETURNING (empty: none). With it the statement returns the client's columns and
    // one more, last, that the session removes: the proposed row's number, by which the rows
    // come in the order proposed (updated and inserted ones mixed, as the server returns them).
    std::string returning;
    bool nulls_distinct = true;
    // Where each value came from in the client's text (empty: not the client's text).
    std::vector<std::vector<std::size_t>> value_origins;
};
// The name EXCLUDED.<column i> is rewritten to (excluded_column(i)).
std::string excluded_column(std::size_t i);
// `copies` receives where the client's values landed (error and notice positions).
std::string upsert_statement(const GuardTable& table, const UpsertRewrite& upsert,
                             std::vector<CopiedText>* copies = nullptr);
std::string upsert_check(const GuardTable& table, const config::Guard& guard,
                         const std::vector<KeySql>& rows, bool nulls_distinct);

// A DO block that only raises `sqlstate` with `message` and `hint`: how the proxy refuses a
// statement so that the server's transaction state follows, as after the server's own error.
std::string refusal_block(std::string_view sqlstate, std::string_view message,
                          std::string_view hint = {});

}  // namespace uniqguard::guard
