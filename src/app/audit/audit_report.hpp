// What audit and dedupe print: per guard, the duplicate groups as an aligned text table, or as
// JSON for scripts (`audit --format json`: one document). Pure functions of the results.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "duplicate_groups.hpp"
#include "table_info.hpp"

namespace uniqguard::app::audit {

struct GuardResult {
    std::string guard;  // the guard's name
    std::string table;  // "schema.table" as resolved, or as configured when unresolved
    std::vector<std::string> key;
    std::vector<std::string> identity;  // column names of the row identity; empty: none
    DuplicateSummary duplicates;
    std::string error;  // non-empty: the guard could not be audited (why)
};

// "NULL" for NULL, else the text as the server printed it.
std::string show_value(const Value& v);
// One row's identity: "7", or "(1, 2)" for a composite one.
std::string show_identity(const Row& id);

// audit: the guard's header, totals, and one line per shown group (key, rows, identities).
std::string render_audit(const GuardResult& r, std::uint64_t limit);
// dedupe's plan: per shown group the key, the row kept and the rows removed.
std::string render_plan(const GuardResult& r, std::uint64_t limit, bool newest,
                        const std::string& order_by);
// One guard's JSON object (see docs/audit.md for the fields).
boost::json::object audit_json(const GuardResult& r, std::uint64_t limit);

}  // namespace uniqguard::app::audit
