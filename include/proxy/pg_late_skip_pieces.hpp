#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "guard/pg_check_sql.hpp"
#include "guard/pg_late_skip_sql.hpp"
#include "proxy/pg_write_plan.hpp"
#include "sql/pg_lexer.hpp"

namespace uniqguard::proxy {

// The parts of an INSERT that skips duplicates and whose keys come late
// (guard/pg_late_skip_sql.hpp), found in `statement` by its tokens: the same text the parser
// read, or the text sent for a prepared statement's Execute (its parameters written in, which
// moves everything after them). `has_with`, `has_conflict`, `has_returning`: what the parse
// found; nullopt when the text does not read so (the statement is then refused).
std::optional<guard::LateSkipPieces> late_skip_pieces(std::string_view statement, bool has_with,
                                                      bool has_conflict, bool has_returning,
                                                      sql::LexOptions lex = {});

// What a late_insert plan that skips duplicates (WritePlan::late_skip) sends in place of
// `statement` (the client's, or the text of a prepared one's Execute with its parameters
// written in): late_insert_sql's parts (with the stage's creation in `prepare`), the stage's
// filling (its rows: the keys to claim), and the statement from the stage into the table,
// suffix included. The copies: where `statement`'s text sits in each.
struct LateSkipWrapper {
    guard::LateInsertSql late;
    std::string stage_fill;
    std::vector<guard::CopiedText> stage_fill_copies;
    std::string text;
    std::vector<guard::CopiedText> copies;
    std::string skipped_probe;  // guard::late_skip_probe
};
std::optional<LateSkipWrapper> late_skip_wrapper(const WritePlan& plan, std::string_view statement,
                                                 bool nulls_distinct, sql::LexOptions lex = {});

}  // namespace uniqguard::proxy
