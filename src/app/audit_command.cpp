// `uniqguard audit`: per guard, the duplicate groups the table holds today, computed by the
// server (audit/duplicate_sql.hpp) and read as a stream, so the tool's memory is the groups it
// lists, whatever the table's size.
#include "app/audit_command.hpp"

#include <boost/json.hpp>

#include "audit/audit_report.hpp"
#include "audit/duplicate_groups.hpp"
#include "audit/duplicate_sql.hpp"
#include "audit/table_info.hpp"
#include "audit/tool_session.hpp"

namespace uniqguard::app {

using namespace audit;

namespace {

constexpr int exit_clean = 0;
constexpr int exit_duplicates = 1;

std::vector<std::string> identity_names(const TableInfo& t) { return t.identity; }

GuardResult audit_guard(ToolDb& db, const config::Guard& guard, const std::string& database,
                        std::uint64_t limit) {
    GuardResult r;
    r.guard = guard.name;
    r.table = guard.table;
    r.key = guard.columns;
    try {
        const TableInfo t = describe_table(db, guard, database, std::nullopt);
        r.table = t.display;
        r.key = t.key;
        r.identity = identity_names(t);
        const DuplicateSql sql(db, t, guard.nulls_distinct, RowOrder{});
        r.duplicates = collect_duplicate_groups(db, sql, t, limit, "audit " + guard.name);
    } catch (const DbError& e) {
        r.error = e.what();
    }
    return r;
}

}  // namespace

int audit_command(const AuditOptions& options) {
    try {
        ToolSession s = open_tool_session(options.config_path, options.account);
        std::vector<const config::Guard*> guards;
        for (const auto& g : s.config.guards) {
            if (!options.guard || g.name == *options.guard) guards.push_back(&g);
        }
        if (options.guard && guards.empty()) {
            return fail(options.config_path + ": no guard named " + *options.guard);
        }
        s.db->make_read_only();
        if (!options.json) {
            print("uniqguard audit: " + s.config.source_path + "\nconnected to " +
                  s.db->server_description() + "\n");
        }

        std::size_t with_duplicates = 0, failed = 0;
        std::uint64_t groups = 0, excess = 0;
        boost::json::array results;
        for (const config::Guard* g : guards) {
            GuardResult r = audit_guard(*s.db, *g, s.backend.database, options.limit);
            if (!r.error.empty()) {
                ++failed;
            } else if (r.duplicates.groups > 0) {
                ++with_duplicates;
                groups += r.duplicates.groups;
                excess += r.duplicates.excess();
            }
            if (options.json) {
                results.push_back(audit_json(r, options.limit));
            } else {
                print("\n" + render_audit(r, options.limit));
            }
        }

        if (options.json) {
            boost::json::object doc;
            doc["config"] = s.config.source_path;
            doc["server"] = s.db->server_description();
            doc["guards"] = std::move(results);
            doc["guards_with_duplicates"] = with_duplicates;
            doc["duplicate_groups"] = groups;
            doc["rows_to_remove"] = excess;
            doc["errors"] = failed;
            print(boost::json::serialize(doc) + "\n");
        } else {
            const std::size_t n = guards.size();
            std::string line =
                "\naudited " + std::to_string(n) + (n == 1 ? " guard: " : " guards: ") +
                std::to_string(with_duplicates) + " with duplicates (" + std::to_string(groups) +
                " groups, " + std::to_string(excess) + " rows to remove)";
            if (failed > 0) line += ", " + std::to_string(failed) + " could not be audited";
            print(line + "\n");
        }
        if (failed > 0) return exit_error;
        return with_duplicates > 0 ? exit_duplicates : exit_clean;
    } catch (const DbError& e) {
        return fail(e.what());
    }
}

}  // namespace uniqguard::app
