// Turns the ordered stream of DuplicateSql::duplicate_rows() (group number, key values,
// identity values) into groups, holding at most `limit` groups with their rows; the totals
// count every group. Rows of one group arrive together, so only the current group is open.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "duplicate_sql.hpp"
#include "tool_db.hpp"

namespace uniqguard::app::audit {

struct DuplicateGroup {
    Row key;  // the key as the group's first row has it
    std::uint64_t count = 0;
    std::vector<Row> rows;  // identity of each row, first row first (dedupe keeps it)
};

struct DuplicateSummary {
    std::uint64_t groups = 0;
    std::uint64_t rows = 0;                                 // rows in duplicate groups
    std::vector<DuplicateGroup> shown;                      // the first `limit` groups
    std::uint64_t excess() const { return rows - groups; }  // rows dedupe would remove
};

class GroupCollector {
  public:
    GroupCollector(std::size_t key_columns, std::size_t identity_columns, std::uint64_t limit);
    // One row of duplicate_rows(); throws DbError on a row of the wrong shape.
    void add(const Row& row);
    const DuplicateSummary& summary() const { return summary_; }

  private:
    std::size_t keys_;
    std::size_t ids_;
    std::uint64_t limit_;
    std::string current_;  // group number of the open group
    DuplicateSummary summary_;
};

// Streams `sql.duplicate_rows()` into a GroupCollector, with progress under `label` (audit and
// the dedupe plan read their groups alike).
DuplicateSummary collect_duplicate_groups(ToolDb& db, const DuplicateSql& sql,
                                          const TableInfo& table, std::uint64_t limit,
                                          const std::string& label);

}  // namespace uniqguard::app::audit
