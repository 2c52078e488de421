#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "guard/guard_catalog.hpp"
#include "guard/pg_check_sql.hpp"

// INSERTs whose keys come late and that skip duplicates: `INSERT INTO t (cols) SELECT … ON
// CONFLICT DO NOTHING` (bare or on the guard's key), or any such INSERT under action "ignore".
// The server must skip the rows whose key exists, or repeats an earlier row of the statement,
// as a unique index would; the keys are only known once the client's rows are computed. The
// client's INSERT is run into a stage, a temporary table of its columns with the table's types
// (so that its values are assigned, cast and rejected exactly as by the table), returning the
// staged rows' keys, which the session claims (waiting for another session's transaction that
// writes one, as an index would make it wait); then the table is filled from the stage:
//
//   [<the client's WITH list>] INSERT INTO pg_temp.<stage> <the client's INSERT after the
//     table's name, up to ON CONFLICT or RETURNING> RETURNING <the keys>  (late_skip_stage_fill)
//
//   WITH uniqguard_stage AS (DELETE FROM pg_temp.<stage> RETURNING *),    (late_skip_statement)
//   uniqguard_s AS (<each staged row, and whether it is kept: the first with its key in the
//     statement, and no row of the table has the key>),
//   uniqguard_skip AS (INSERT INTO pg_temp.<skipped> <the other rows' keys>),
//   uniqguard_ins AS (INSERT INTO <the table, as named> [AS alias] (cols) [OVERRIDING …]
//     SELECT cols FROM uniqguard_s WHERE kept ORDER BY <the rows' order>
//     [<the client's ON CONFLICT clause, when kept>] [RETURNING <the client's list>]
//   <late_insert_sql's suffix>
//
// so that late_insert_sql's keys table and check then apply to the rows inserted. A row
// with NULL in a NOT NULL column of the list is always passed on, so that the server reports
// 23502 for it as it would before looking for a conflict.
namespace uniqguard::guard {

// Where the parts of the client's INSERT sit in its text (byte offsets).
struct LateSkipPieces {
    std::size_t with_end = 0;                      // [0, with_end): its WITH list (0: none)
    std::size_t target_begin = 0, target_end = 0;  // the table's name as written
    std::size_t source_end = 0;  // [target_end, source_end): alias, columns, OVERRIDING, rows
    // The ON CONFLICT clause, ON to its last token (empty: none).
    std::size_t conflict_begin = 0, conflict_end = 0;
    // The RETURNING list after the keyword (empty: none).
    std::size_t returning_begin = 0, returning_end = 0;
};

struct LateSkipInsert {
    std::string alias;                  // INSERT INTO t AS alias (empty: none)
    std::vector<std::string> columns;   // the column list, as resolved; every key column is in it
    std::string overriding;             // "", "OVERRIDING SYSTEM VALUE", "OVERRIDING USER VALUE"
    bool keep_conflict_clause = false;  // the client's ON CONFLICT goes on the table's INSERT
    // The client gave no column list: `columns` are all the table's, and the stage takes the
    // table's defaults (LIKE … INCLUDING DEFAULTS, NOT NULL dropped), since its rows fill the
    // first columns only; no identity or generated column (refused before).
    bool every_column = false;
    bool nulls_distinct = true;
};

// The stage's name (in pg_temp): it changes with the table, the columns and their types, so
// that a table altered meanwhile gets a new one.
std::string late_skip_stage_name(const GuardTable& table, const config::Guard& guard,
                                 const std::vector<std::string>& columns,
                                 bool every_column = false);
// PL/pgSQL statements for late_insert_sql's DO block (`extra_prepare`): the stage created on
// first use, its rows deleted at each commit.
std::string late_skip_stage_create(const GuardTable& table, const config::Guard& guard,
                                   const std::vector<std::string>& columns,
                                   bool every_column = false);
// The rows the statement skipped, one per row in row order: the key columns' values as text
// (hex of their bytes in the database's encoding; NULL as NULL), for the duplicate log; the
// rows are deleted as they are read.
std::string late_skip_probe(const GuardTable& table, const config::Guard& guard,
                            const std::vector<std::string>& columns, bool every_column = false);
// The first statement above; its rows are the staged keys, one per row in row order (hex of
// their text in the database's encoding, NULL as NULL, as late_insert_sql's keys_probe).
std::string late_skip_stage_fill(const GuardTable& table, const config::Guard& guard,
                                 const LateSkipInsert& insert, std::string_view statement,
                                 const LateSkipPieces& pieces,
                                 std::vector<CopiedText>* copies = nullptr);
// The second statement above, up to late_insert_sql's suffix; `wrap_prefix` is late_insert_sql's
// hoisted prefix (`, uniqguard_ins AS (`). `copies` receives where the client's text landed.
std::string late_skip_statement(const GuardTable& table, const config::Guard& guard,
                                const LateSkipInsert& insert, std::string_view statement,
                                const LateSkipPieces& pieces, std::string_view wrap_prefix,
                                std::vector<CopiedText>* copies = nullptr);

}  // namespace uniqguard::guard
