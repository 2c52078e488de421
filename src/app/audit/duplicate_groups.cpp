#include "duplicate_groups.hpp"

#include "progress.hpp"

namespace uniqguard::app::audit {

GroupCollector::GroupCollector(std::size_t key_columns, std::size_t identity_columns,
                               std::uint64_t limit)
    : keys_(key_columns), ids_(identity_columns), limit_(limit) {}

void GroupCollector::add(const Row& row) {
    if (row.size() != 1 + keys_ + ids_ || !row[0]) {
        throw DbError("unexpected row shape in the duplicate stream");
    }
    ++summary_.rows;
    const bool fresh = summary_.groups == 0 || *row[0] != current_;
    if (fresh) {
        current_ = *row[0];
        ++summary_.groups;
        if (summary_.shown.size() < limit_) {
            DuplicateGroup g;
            g.key.assign(row.begin() + 1, row.begin() + 1 + static_cast<std::ptrdiff_t>(keys_));
            summary_.shown.push_back(std::move(g));
        }
    }
    // Rows are kept only for groups being shown; the others are counted.
    if (summary_.groups <= summary_.shown.size()) {
        DuplicateGroup& g = summary_.shown.back();
        ++g.count;
        if (ids_ > 0)
            g.rows.emplace_back(row.begin() + 1 + static_cast<std::ptrdiff_t>(keys_), row.end());
    }
}

DuplicateSummary collect_duplicate_groups(ToolDb& db, const DuplicateSql& sql,
                                          const TableInfo& table, std::uint64_t limit,
                                          const std::string& label) {
    GroupCollector groups(table.key.size(), table.identity.size(), limit);
    Progress progress(label);
    progress.step("grouping " + table.display + " on the server");
    db.stream(sql.duplicate_rows(), [&](const Row& row) {
        groups.add(row);
        progress.add(1);
    });
    progress.finish();
    return groups.summary();
}

}  // namespace uniqguard::app::audit
