// What one statement means to the guard, decided from its analysis (sql/statement.hpp) alone:
// not a write to a guarded table (forward it), a write whose keys the proxy can read (INSERT …
// VALUES, an UPDATE that sets every key column), or a form the guard does not enforce yet, which
// is refused with a clear error naming the guard (reject/ignore) or forwarded with a warning
// (log). Values are described, not read: a prepared statement's plan is made once at Parse and
// its parameters are read per Bind.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "guard/column_type.hpp"
#include "guard/guard_registry.hpp"
#include "protocol/postgres/copy_rows.hpp"
#include "sql/pg_lexer.hpp"
#include "sql/statement.hpp"

namespace uniqguard::proxy {

// Where one key column's value comes from.
struct ValueSource {
    // expression (an UPDATE's SET only): `sql` is evaluated per row by the server's check
    // (columns of the row, operators, immutable or stable functions: same_in_every_statement).
    enum class Kind { string, number, boolean, null, parameter, expression };
    Kind kind = Kind::null;
    std::string text;  // string: the decoded contents; number: as written; boolean: true/false
    std::string sql;   // the value as written in the statement (for the server-side check)
    std::string literal_token;  // string: the literal token itself, to decode it again
    // string, number: where the literal's token(s) are in the statement's text (a number's
    // minus signs included), for the shape plan (pg_insert_shape.hpp)
    sql::SourceRange literal;
    int parameter = 0;  // parameter: 1-based
    // An explicit cast the value is read through first ('5'::int8, $1::text); nullopt: none.
    std::optional<guard::ColumnType> cast;
    // More casts, or a cast to a type the proxy does not know: the value is not fingerprinted
    // and every such write is checked with the server.
    bool opaque_cast = false;
};

// An INSERT's text in pieces, for rewriting it into a form that skips duplicate rows.
struct InsertText {
    std::string alias;                             // INSERT INTO t AS alias
    std::vector<std::string> columns;              // the columns the VALUES rows fill, in order
    std::vector<std::vector<std::string>> values;  // per row, every value as written
    std::vector<std::vector<std::size_t>> value_offsets;  // ...and where, in the parsed text
    bool has_default = false;                             // a DEFAULT in a row: not rewritable
    sql::Overriding overriding = sql::Overriding::none;
    std::string returning;  // after RETURNING; empty when none
};

struct WritePlan {
    // late_insert: an INSERT whose keys the proxy cannot read before it runs (INSERT … SELECT,
    // DEFAULT or an expression in a key column): the server reports them as it writes the rows.
    // upsert: INSERT … VALUES … ON CONFLICT (the guard's key) DO UPDATE (guard::UpsertRewrite):
    // `rows` and `insert_text` as for an insert, and the DO UPDATE's SET list and WHERE.
    enum class Kind { insert, update, refuse, unready, copy, late_insert, upsert };
    Kind kind = Kind::insert;
    guard::GuardState* guard = nullptr;
    std::string refusal;  // refuse: the error message
    // refuse: the server would refuse the statement's Parse (an ON CONFLICT … DO UPDATE target
    // naming the guard's key, which has no index): a prepared one is refused at its Parse.
    bool refuse_at_parse = false;
    // insert: per row, the key columns' sources in the guard's column order
    std::vector<std::vector<ValueSource>> rows;
    // insert: duplicate rows are skipped (action "ignore", or ON CONFLICT DO NOTHING on the
    // guard's key) instead of raising the unique violation.
    bool skip_duplicates = false;
    // ...and the ON CONFLICT clause names the guard's key or constraint, which the server cannot
    // infer (42P10 / 42704): the statement is always rewritten without it.
    bool must_rewrite = false;
    // The ON CONFLICT … DO NOTHING kept in the skipping rewrite, as the client wrote it (ON up
    // to RETURNING or the end), and its offset in the parsed text: a bare one, for the table's
    // real indexes; or, under action "ignore", one naming another (real) index, so that the
    // server still skips that index's conflicts while the guard's duplicates are dropped as
    // under ignore. Empty: none kept (no clause, or one naming the guard's key).
    std::string conflict_clause;
    std::size_t conflict_clause_offset = 0;
    // The table is written as is: forward untouched, no check (log action with ON CONFLICT).
    bool forward_untouched = false;
    // insert: a plain INSERT … VALUES (no ON CONFLICT clause, no row dropped): when it succeeds
    // every row is written, so its keys' commit is a commit of rows with them (SessionClaims).
    bool writes_every_row = false;
    InsertText insert_text;
    std::string upsert_set, upsert_where;  // upsert: as written (EXCLUDED not yet rewritten)
    bool late_returning = false;           // late_insert: the INSERT has a RETURNING list
    // late_insert whose statement is an UPDATE of key columns the check cannot evaluate ahead
    // of it (DEFAULT, a volatile function): wrapped alike, its rows' new keys reported by the
    // server; the client's tag is `UPDATE n`, and `alias` qualifies the key columns returned.
    bool late_update = false;
    // late_insert run as the client wrote it (guard::late_scan_sql): a MERGE, or a statement
    // whose WITH list writes the guarded table. Its rows are found after it by the mark the
    // proxy writes before it; its replies (tag, rows) are its own, held until the check.
    bool late_scan = false;
    std::string_view scan_command;  // ...the client's command: MERGE, SELECT, INSERT, …
    bool scan_rows = false;         // ...which returns rows (a SELECT, RETURNING)
    std::string scan_form;          // ...what it is, for a refusal ("MERGE", …)
    // late_insert: the INSERT has a data-modifying WITH list, which the wrapper hoists to its
    // top (the server refuses one nested in a CTE): see insert_after_with.
    bool late_hoist = false;
    // late_insert that skips duplicates (action "ignore", ON CONFLICT DO NOTHING bare or on the
    // key): run through a stage (guard/pg_late_skip_sql.hpp). `insert_text` holds its alias,
    // column list and OVERRIDING; `conflict_clause` non-empty when its clause is kept.
    bool late_skip = false;
    bool late_with = false;      // ...the INSERT has a WITH list (hoisted to the wrapper's top)
    bool late_conflict = false;  // ...and an ON CONFLICT clause (kept or dropped)
    // ...and no column list: `insert_text.columns` are the table's, the stage has its defaults.
    bool late_skip_every_column = false;
    // update: per key column, the value set, or (update_assigned false) the row's own
    std::vector<ValueSource> update_key;
    std::vector<bool> update_assigned;
    std::string alias;
    std::string where;  // the condition's text, as written
    std::string from;   // update: the FROM list's text, as written (empty: none)
    // insert, update (every kind planned from them): the target as the statement names it, for
    // reading a subquery's FROM (pg_parameter_substitution.hpp); empty when the statement has a
    // WITH list (a query it names as the table is named hides the table from a FROM).
    sql::QualifiedName target_name;
    // copy (COPY … FROM STDIN): how its data reads, and where each key column is among the
    // fields of a row, in the guard's column order.
    protocol::postgres::CopyFormatOptions copy_options;
    std::vector<std::size_t> copy_key_fields;
    std::vector<std::string> copy_columns;  // the COPY's columns: its list or the table's
    // The statement's text, for logs and errors.
    std::string_view text;

    // late_insert: the client's command, as the server names it in its errors.
    std::string_view late_command() const {
        return late_scan ? scan_command : late_update ? "UPDATE" : "INSERT";
    }
};

// nullopt: the statement does not write to a guarded table (or the guard layer has nothing to
// do with it). `sql` is the string the statement's ranges point into.
// `lex`: how the session reads '...' strings (standard_conforming_strings): every pass over the
// client's text lexes it so (libpg_query may have been given a masked copy,
// sql/pg_nonstandard_strings.hpp).
std::optional<WritePlan> plan_write(const sql::Statement& statement, std::string_view sql,
                                    const guard::GuardRegistry& registry, sql::LexOptions lex = {});

// A refusal of `text` naming `g` (kind refuse): the reply is `message` (0A000; forwarded with a
// warning under log).
WritePlan refusal_plan(guard::GuardState& g, std::string message, std::string_view text);

// SQL-level PREPARE and EXECUTE (pg_sql_prepared.hpp). `body` is the plan_write of the
// PREPARE's statement. An EXECUTE of it runs as written and is scanned after (late_scan), which
// holds every form that raises the index's error on a duplicate (INSERT under reject, UPDATE,
// MERGE, INSERT … SELECT, writable WITH lists); forms that skip duplicates or update the row a
// key names (ignore, ON CONFLICT DO NOTHING / DO UPDATE on the key) need a rewrite the proxy
// cannot make of an EXECUTE. plan_sql_prepare: nullopt when an EXECUTE can be held so (or the
// guard only logs), else the PREPARE's refusal (or `unready`).
std::optional<WritePlan> plan_sql_prepare(const WritePlan& body, std::string_view prepare_text);
// The EXECUTE `statement` (text `text`) of a body planned as `body`, whose command is `command`
// (INSERT, UPDATE, MERGE, DELETE, SELECT). Its RowDescription is always asked for (scan_rows):
// the statement the server holds under the name may not be the body (NoData is dropped).
WritePlan plan_sql_execute(const WritePlan& body, const sql::Statement& statement,
                           std::string_view text, std::string_view command);

// `WITH <CTEs> INSERT …`: the offset in `text` of the INSERT after the WITH list (nullopt:
// the text does not begin with a WITH list followed by an INSERT).
std::optional<std::size_t> insert_after_with(std::string_view text, sql::LexOptions lex = {});
// The same for the first of `words` (lower case) after the WITH list.
std::optional<std::size_t> statement_after_with(std::string_view text,
                                                std::initializer_list<std::string_view> words,
                                                sql::LexOptions lex = {});

}  // namespace uniqguard::proxy
