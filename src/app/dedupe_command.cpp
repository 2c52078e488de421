// `uniqguard dedupe --guard NAME`: the plan (which row each duplicate group keeps, which rows
// go), and with --apply the move of those rows into the quarantine table (audit/dedupe_apply.hpp
// for the transaction). The plan is read as audit reads its groups: a stream, ordered so that
// each group's first row is the one kept.
#include <algorithm>

#include "app/audit_command.hpp"
#include "audit/audit_report.hpp"
#include "audit/dedupe_apply.hpp"
#include "audit/duplicate_groups.hpp"
#include "audit/duplicate_sql.hpp"
#include "audit/progress.hpp"
#include "audit/quarantine_name.hpp"
#include "audit/table_info.hpp"
#include "audit/tool_session.hpp"

namespace uniqguard::app {

using namespace audit;

namespace {

constexpr int exit_done = 0;
constexpr int exit_nothing_to_do = 1;

// Refusals that do not depend on the rows: each is a reason dedupe could not keep its promise
// (nothing lost, a failure changes nothing).
std::string refusal(const TableInfo& t, Flavour flavour) {
    if (t.identity.empty()) {
        return t.display +
               " has no primary key: dedupe needs --order-by naming a NOT NULL "
               "column with a unique index of its own, to tell rows apart";
    }
    if (!t.transactional) {
        return t.display + " uses the " + t.engine +
               " engine, which has no transactions: a failure half-way could not be rolled "
               "back, so dedupe refuses it";
    }
    if (t.identity_is_ctid && t.partitioned) {
        return t.display +
               " is partitioned and has no primary key: ctid does not name a row "
               "across partitions";
    }
    for (const std::string reserved : {"quarantined_at", "guard"}) {
        const bool clash = std::any_of(t.columns.begin(), t.columns.end(), [&](const auto& c) {
            return same_column_name(flavour, c, reserved);
        });
        if (clash) {
            return t.display + " has a column named " + reserved +
                   ", which the quarantine table adds itself";
        }
    }
    return {};
}

}  // namespace

int dedupe_command(const DedupeOptions& options) {
    try {
        ToolSession s = open_tool_session(options.config_path, options.account);
        const auto it = std::find_if(s.config.guards.begin(), s.config.guards.end(),
                                     [&](const auto& g) { return g.name == options.guard; });
        if (it == s.config.guards.end()) {
            return fail(options.config_path + ": no guard named " + options.guard);
        }
        const config::Guard& guard = *it;
        ToolDb& db = *s.db;
        if (!options.apply) db.make_read_only();
        const TableInfo t = describe_table(db, guard, s.backend.database, options.order_by);
        if (auto why = refusal(t, db.flavour()); !why.empty()) return fail(why);
        const std::string quarantine_name =
            quarantine_table_name(t.name, db.identifier_limit(), db.identifier_limit_in_bytes());
        const std::string quarantine_display = t.schema + "." + quarantine_name;
        const std::string quarantine_sql =
            db.quote_identifier(t.schema) + "." + db.quote_identifier(quarantine_name);
        const DuplicateSql sql(db, t, guard.nulls_distinct,
                               RowOrder{.order_by = t.order_by, .newest = options.keep_newest});

        print("uniqguard dedupe: " + s.config.source_path + "\nconnected to " +
              db.server_description() + "\n\n");
        GuardResult plan{
            .guard = guard.name, .table = t.display, .key = t.key, .identity = t.identity};
        plan.duplicates =
            collect_duplicate_groups(db, sql, t, options.limit, "dedupe " + guard.name);
        if (plan.duplicates.groups == 0) {
            print("guard " + guard.name + " (" + t.display + "): no duplicates, nothing to do\n");
            return exit_nothing_to_do;
        }
        print(render_plan(plan, options.limit, options.keep_newest, t.order_by.value_or("")));

        const auto references = count_references(db, t, sql, "(" + sql.doomed_rows() + ")");
        for (const auto& [fk, n] : references) {
            print("  " + std::to_string(n) + " rows of " + fk->table_display + " (foreign key " +
                  fk->name + ") point at rows to remove: " +
                  (options.repoint ? "--repoint moves them to the kept row\n"
                                   : "refused without --repoint\n"));
        }
        if (!references.empty() && !options.repoint) {
            return fail("rows to remove are referenced by " +
                        references.front().first->table_display + " (foreign key " +
                        references.front().first->name +
                        "): nothing changed; --repoint moves the references to the kept row");
        }
        if (!options.apply) {
            print("\ndry run: nothing changed; --apply moves " +
                  std::to_string(plan.duplicates.excess()) + " rows into " + quarantine_display +
                  "\n");
            return exit_done;
        }

        Progress progress("dedupe " + guard.name, apply_steps + t.referenced_by.size());
        const ApplyResult done = apply_dedupe(db, t, sql, guard.name, quarantine_name,
                                              quarantine_sql, options.repoint, progress);
        progress.finish();
        std::string line = "\nmoved " + std::to_string(done.moved) + " rows of " + t.display +
                           " into " + quarantine_display;
        for (const auto& [table, n] : done.repointed) {
            line += "; repointed " + std::to_string(n) + " rows of " + table;
        }
        print(line + "; no duplicate group remains\n");
        return exit_done;
    } catch (const DbError& e) {
        return fail(std::string(e.what()) + "; the table is unchanged");
    }
}

}  // namespace uniqguard::app
