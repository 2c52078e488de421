// dedupe --apply, SPEC §6 step by step. The quarantine table is created first, on its own (on
// MySQL a CREATE TABLE commits implicitly, so it cannot be inside the transaction); then one
// transaction:
//   1. lock the table against concurrent writers: PostgreSQL LOCK TABLE ... IN SHARE ROW
//      EXCLUSIVE MODE (readers go on; INSERT, UPDATE, DELETE wait); MySQL a locking read of
//      every row under REPEATABLE READ (SELECT COUNT(*) ... FOR UPDATE), whose next-key locks
//      cover every gap of the index it scans, so an insert anywhere waits. Row locks on the
//      doomed rows alone would not stop a new duplicate of a kept row.
//   2. the rows to remove, with their group's kept row, into a temporary table;
//   3. foreign keys pointing at them: refuse naming the referencing table, or (--repoint)
//      move the references to the kept row;
//   4. copy them into the quarantine table; delete them; the counts must match;
//   5. no duplicate group may remain;
//   6. COMMIT.
// Any error in 1-6 rolls the whole transaction back: the table is as it was.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "duplicate_sql.hpp"
#include "progress.hpp"
#include "table_info.hpp"
#include "tool_db.hpp"

namespace uniqguard::app::audit {

struct ApplyResult {
    std::uint64_t moved = 0;  // rows copied to quarantine and deleted
    std::vector<std::pair<std::string, std::uint64_t>> repointed;  // table, rows updated
};

// The number of Progress steps apply_dedupe reports (for a bar over them), not counting one
// per referencing table repointed.
inline constexpr std::uint64_t apply_steps = 7;

// Throws DbError (after the rollback) with the reason.
ApplyResult apply_dedupe(ToolDb& db, const TableInfo& table, const DuplicateSql& sql,
                         const std::string& guard_name, const std::string& quarantine_name,
                         const std::string& quarantine_sql, bool repoint, Progress& progress);

// Rows of each referencing table that point at rows `doomed` would remove (tables with none
// are left out). `doomed`: a table name or "(SELECT ...)".
std::vector<std::pair<const ForeignKeyRef*, std::uint64_t>> count_references(
    ToolDb& db, const TableInfo& table, const DuplicateSql& sql, const std::string& doomed);

}  // namespace uniqguard::app::audit
