#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "config/sections.hpp"

namespace uniqguard::config {

namespace {

constexpr std::string_view table_allowed = R"("table" or "schema.table")";
constexpr std::string_view columns_allowed = "a non-empty array of distinct column names";
// PostgreSQL's lock_timeout is an int of milliseconds; a larger wait could not be passed on.
constexpr std::int64_t max_lock_wait_timeout_ms = 2'147'483'647;

// A guard as read, with what the checks across guards need to point back at it.
struct ReadGuard {
    Guard guard;
    std::string key_prefix;  // "guard[2]"
    std::uint32_t columns_line = 0;
    std::uint32_t name_line = 0;  // of `name`, or of the [[guard]] header when derived
    bool name_given = false;
};

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

// What a table name may look like; the empty string when it is fine.
std::string table_name_problem(const std::string& table) {
    const auto dots = std::count(table.begin(), table.end(), '.');
    if (dots > 1) return quoted(table) + " has more than one '.'";
    if (dots == 1 && (table.front() == '.' || table.back() == '.')) {
        return quoted(table) + " has an empty schema or table name";
    }
    return "";
}

std::string unqualified(const std::string& table) {
    const auto dot = table.find('.');
    return dot == std::string::npos ? table : table.substr(dot + 1);
}

// SPEC §2: the name errors and logs use when none is given, as PostgreSQL would name the index.
std::string derived_name(const Guard& guard) {
    std::string name = unqualified(guard.table);
    for (const auto& column : guard.columns) name += "_" + column;
    return name + "_uniq";
}

std::vector<std::string> sorted(std::vector<std::string> columns) {
    std::sort(columns.begin(), columns.end());
    return columns;
}

// Reads one [[guard]] entry; nullopt when its table or columns could not be read.
std::optional<ReadGuard> read_guard(const toml::table& table, std::string key_prefix,
                                    Protocol protocol, const ReadContext& context) {
    SectionReader reader(table, key_prefix, "[[guard]]", guard_keys, context);
    reader.reject_unknown_keys();

    ReadGuard read;
    read.key_prefix = std::move(key_prefix);
    Guard& guard = read.guard;
    guard.source_line = static_cast<int>(reader.table_line());

    if (!reader.has("table")) {
        reader.report("table", "required key is missing", table_allowed);
    }
    const auto table_name = reader.non_empty_string("table", table_allowed);
    if (table_name) {
        if (const auto problem = table_name_problem(*table_name); !problem.empty()) {
            reader.report("table", problem, table_allowed);
        }
        guard.table = *table_name;
    }

    if (!reader.has("columns")) {
        reader.report("columns", "required key is missing", columns_allowed);
    }
    const auto columns = reader.distinct_strings("columns", columns_allowed);
    if (columns) guard.columns = *columns;
    read.columns_line = reader.line_of("columns");

    if (auto action = reader.choice<GuardAction>("action", {{"reject", GuardAction::reject},
                                                            {"ignore", GuardAction::ignore},
                                                            {"log", GuardAction::log}})) {
        guard.action = *action;
    }
    if (auto flag = reader.boolean("nulls_distinct")) guard.nulls_distinct = *flag;
    if (auto consistency = reader.choice<Consistency>(
            "consistency", {{"cache", Consistency::cache}, {"strict", Consistency::strict}})) {
        guard.consistency = *consistency;
    }
    if (auto ms = reader.integer("lock_wait_timeout_ms", 0, max_lock_wait_timeout_ms)) {
        guard.lock_wait_timeout = std::chrono::milliseconds(*ms);
    }
    if (auto when = reader.choice<WhenUnready>(
            "when_unready", {{"refuse", WhenUnready::refuse}, {"forward", WhenUnready::forward}})) {
        guard.when_unready = *when;
    }

    // MySQL has no NULLS NOT DISTINCT: its unique keys always let NULLs repeat.
    if (!guard.nulls_distinct && protocol != Protocol::postgres) {
        reader.report("nulls_distinct",
                      "false is only supported with listen.protocol = \"postgres\"", "true");
    }

    if (!table_name || !columns) return std::nullopt;

    const auto name = reader.non_empty_string("name", "a non-empty string");
    read.name_given = name.has_value();
    guard.name = name ? *name : derived_name(guard);
    read.name_line = reader.line_of("name");
    return read;
}

// Two guards on one key would answer the same write twice; two guards with one name could not be
// told apart in errors, logs and /guards.
void reject_overlapping_guards(const std::vector<ReadGuard>& guards, const ReadContext& context) {
    for (std::size_t later = 0; later < guards.size(); ++later) {
        const ReadGuard& b = guards[later];
        for (std::size_t earlier = 0; earlier < later; ++earlier) {
            const ReadGuard& a = guards[earlier];
            if (a.guard.table == b.guard.table &&
                sorted(a.guard.columns) == sorted(b.guard.columns)) {
                context.diagnostics.report(b.columns_line, b.key_prefix + ".columns",
                                           "same table and columns as " + a.key_prefix + " (line " +
                                               std::to_string(a.guard.source_line) + ")",
                                           "one guard per table and set of columns");
            }
            if (a.guard.name == b.guard.name) {
                const std::string what = b.name_given ? "" : "the derived name ";
                context.diagnostics.report(
                    b.name_line, b.key_prefix + ".name",
                    what + quoted(b.guard.name) + " is already the name of " + a.key_prefix +
                        " (line " + std::to_string(a.guard.source_line) + ")",
                    "a name no other guard has");
            }
        }
    }
}

}  // namespace

std::vector<Guard> read_guards(const toml::array& entries, Protocol protocol,
                               const ReadContext& context) {
    std::vector<ReadGuard> read;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const toml::node& entry = *entries.get(i);
        // 1-based, as a user counts the [[guard]] blocks in the file.
        std::string key_prefix = "guard[" + std::to_string(i + 1) + "]";
        const auto* table = entry.as_table();
        if (table == nullptr) {
            context.diagnostics.report(
                entry.source().begin.line, key_prefix,
                "expected a table, found " + std::string(describe_type(entry.type())),
                "[[guard]] tables");
            continue;
        }
        if (auto guard = read_guard(*table, std::move(key_prefix), protocol, context)) {
            read.push_back(std::move(*guard));
        }
    }
    reject_overlapping_guards(read, context);

    std::vector<Guard> guards;
    guards.reserve(read.size());
    for (auto& r : read) guards.push_back(std::move(r.guard));
    return guards;
}

}  // namespace uniqguard::config
