#include "guard_report.hpp"

#include <algorithm>
#include <set>

#include "guard/column_type.hpp"
#include "util/join.hpp"

namespace uniqguard::app::check {

namespace {

using util::join;

std::string plural(std::uint64_t n, std::string_view one, std::string_view many) {
    return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

std::string describe_unique(const IndexFacts& index) {
    if (index.constraint == 'p' || index.primary) return "primary key";
    if (index.constraint == 'u') return "unique constraint";
    return "unique index";
}

}  // namespace

bool is_comparable_type(std::string_view format_type_name) {
    return guard::column_type_from_catalog(format_type_name, /*deterministic_collation=*/true)
        .has_value();
}

IndexVerdicts classify_indexes(const std::vector<IndexFacts>& indexes,
                               const std::vector<KeyColumn>& key, bool nulls_distinct) {
    IndexVerdicts verdicts;
    std::set<int> key_set;
    for (const auto& column : key) key_set.insert(column.attnum);
    auto not_null = [&](int attnum) {
        return std::any_of(key.begin(), key.end(),
                           [&](const KeyColumn& c) { return c.attnum == attnum && c.not_null; });
    };

    for (const auto& index : indexes) {
        const auto& cols = index.key_columns;
        const bool plain = !cols.empty() && std::find(cols.begin(), cols.end(), 0) == cols.end();
        const std::set<int> index_set(cols.begin(), cols.end());

        if (index.unique && plain &&
            std::includes(key_set.begin(), key_set.end(), index_set.begin(), index_set.end())) {
            // Any two rows equal on the key are equal on these columns, so the server refuses
            // them, unless the index lets them through.
            std::vector<std::string> why_not;
            if (!index.valid) why_not.push_back("invalid (a failed CREATE INDEX CONCURRENTLY?)");
            if (index.partial) why_not.push_back("partial (WHERE " + index.predicate + ")");
            const bool nulls_covered = nulls_distinct || index.nulls_not_distinct ||
                                       std::all_of(cols.begin(), cols.end(), not_null);
            if (!nulls_covered) {
                why_not.push_back(
                    "its NULLs are distinct, but the guard has nulls_distinct = false");
            }
            const std::string label = index.name + " (" + describe_unique(index) + ")";
            if (!why_not.empty()) {
                verdicts.not_counted.push_back(label + ": " + join(why_not, "; "));
            } else {
                std::vector<std::string> notes;
                if (index_set != key_set) notes.push_back("on a subset of the key: stricter");
                if (nulls_distinct && index.nulls_not_distinct &&
                    !std::all_of(cols.begin(), cols.end(), not_null)) {
                    notes.push_back("NULLS NOT DISTINCT: stricter");
                }
                if (!index.immediate) notes.push_back("deferrable: checked at commit");
                std::string text = index.name + " (" + describe_unique(index);
                for (const auto& note : notes) text += ", " + note;
                verdicts.enforcing.push_back(text + ")");
            }
        }

        // Lookups by the whole key: a valid, non-partial b-tree whose leading columns are the
        // key columns in any order (or a hash index on a one-column key).
        if (index.valid && !index.partial && cols.size() >= key_set.size()) {
            const std::set<int> leading(cols.begin(),
                                        cols.begin() + static_cast<std::ptrdiff_t>(key_set.size()));
            const bool btree = index.method == "btree" && leading == key_set;
            const bool hash = index.method == "hash" && key_set.size() == 1 && leading == key_set;
            if (btree || hash) verdicts.covering.push_back(index.name);
        }
    }
    return verdicts;
}

std::vector<std::string> GuardReport::problems() const {
    std::vector<std::string> out;
    if (!table_problem.empty()) {
        out.push_back("table " + (table.empty() ? configured_table : table) + " " + table_problem);
        return out;
    }
    for (const auto& column : columns) {
        if (!column.found) {
            out.push_back("column " + column.name + " does not exist");
            continue;
        }
        if (!is_comparable_type(column.type)) {
            out.push_back("column " + column.name + " has type " + column.type +
                          ", which the proxy cannot compare");
        } else if (!column.deterministic) {
            out.push_back("column " + column.name + " has the nondeterministic collation " +
                          column.collation.value_or("?"));
        }
    }
    if (!counts_error.empty()) out.push_back("the table cannot be read: " + counts_error);
    return out;
}

std::string render(const GuardReport& r) {
    std::string out = "guard " + r.name + " (" + r.configured_table + ": " +
                      join(r.configured_columns, ", ") + ")\n";
    auto line = [&](const std::string& text) { out += "  " + text + "\n"; };

    if (r.table.empty()) {
        line("table: " + r.configured_table + ": " + r.table_problem +
             (r.table_hint.empty() ? "" : " (" + r.table_hint + ")"));
    } else if (!r.table_problem.empty()) {
        line("table: " + r.table + ": " + r.table_problem);
    } else {
        line("table: " + r.table + (r.table_kind.empty() ? "" : " (" + r.table_kind + ")"));
    }

    for (const auto& c : r.columns) {
        if (!c.found) {
            line("column " + c.name + ": missing");
            continue;
        }
        std::string text = "column " + c.name + ": " + c.type;
        if (c.collation) {
            text += ", collation " + *c.collation +
                    (c.deterministic ? " (deterministic)"
                                     : " (nondeterministic: the proxy cannot compare it)");
        }
        if (!is_comparable_type(c.type)) text += " (not supported: the proxy cannot compare it)";
        line(text);
    }

    if (r.counts) {
        const Counts& n = *r.counts;
        line("rows: " + std::to_string(n.rows));
        line("distinct keys: " + std::to_string(n.distinct_keys));
        line("rows with a NULL in the key: " + std::to_string(n.null_rows) +
             (r.nulls_distinct ? " (never duplicates: nulls_distinct = true)"
                               : " (NULLs compare equal: nulls_distinct = false)"));
        std::string groups = "duplicate groups: " + std::to_string(n.duplicate_groups);
        if (n.duplicate_groups > 0) {
            groups += " (" + plural(n.duplicate_rows, "row", "rows") + "; dedupe would remove " +
                      std::to_string(n.duplicate_rows - n.duplicate_groups) + ")";
        }
        line(groups);
    } else if (!r.counts_error.empty()) {
        line("rows: not counted: " + r.counts_error);
    }

    if (r.indexes) {
        if (r.indexes->enforcing.empty()) {
            line("unique index enforcing the key: none");
        } else {
            line("unique index enforcing the key: " + join(r.indexes->enforcing, ", ") +
                 ": the migration has landed");
        }
        for (const auto& text : r.indexes->not_counted) line("unique index not counted: " + text);
    }
    if (r.counts) {
        if (r.counts->duplicate_groups == 0) {
            line("CREATE UNIQUE INDEX would succeed now");
        } else {
            line("CREATE UNIQUE INDEX would fail now: " +
                 plural(r.counts->duplicate_groups, "duplicate group", "duplicate groups"));
        }
    }
    if (r.indexes) {
        if (r.indexes->covering.empty()) {
            line("covering index: none (confirmations and dedupe scan the table)");
        } else {
            line("covering index: " + join(r.indexes->covering, ", "));
        }
    }
    if (r.writers) {
        if (r.writers->empty()) {
            line("writers out of the proxy's sight: none");
        } else {
            line("writers out of the proxy's sight: " + std::to_string(r.writers->size()));
            for (const auto& w : *r.writers) line("  " + w);
        }
    }

    const auto problems = r.problems();
    line(problems.empty() ? "verdict: can be enforced"
                          : "verdict: cannot be enforced: " + join(problems, "; "));
    return out;
}

}  // namespace uniqguard::app::check
