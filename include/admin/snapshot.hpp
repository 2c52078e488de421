// What the admin endpoint reports, as plain data: taken from the running proxy (the proxy layer's
// admin_routes.cpp gathers it) and rendered by prometheus_text.hpp and guards_json.hpp, which
// are therefore testable without a proxy.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace uniqguard::admin {

struct HistogramSnapshot {
    std::vector<double> upper_bounds_seconds;  // ascending; +Inf is implicit
    std::vector<std::uint64_t> buckets;        // per bound, not cumulative; one more for +Inf
    double sum_seconds = 0;
};

struct StatementKindSnapshot {
    std::string kind;  // "query", "prepare", "execute"
    std::uint64_t statements = 0;
    HistogramSnapshot processing;
};

struct GuardCountersSnapshot {
    std::uint64_t passed = 0, checked = 0, rejected = 0, ignored = 0, logged = 0, refused = 0,
                  forwarded_unready = 0;
    std::uint64_t waits = 0;         // writes that waited for another session's key
    std::int64_t waiting = 0;        // writes waiting now
    std::uint64_t shape_passes = 0;  // of `passed`: INSERTs passed without a parse
};

struct UniqueIndexSnapshot {
    // Whether a real unique index enforces the key; unset when it could not be found out.
    std::optional<bool> enforced;
    std::vector<std::string> indexes;  // the enforcing indexes' names, quoted as the server does
    std::string source;                // "catalog now", "key set load", or why it is unknown
};

struct GuardSnapshot {
    std::string name, table, action, state;  // state: "loading", "ready", "failed"
    std::vector<std::string> columns;
    std::string failure;  // why the last load failed (state "failed")
    std::uint64_t keys = 0, bytes = 0;
    std::optional<double> load_seconds;  // the last completed load of the key set
    GuardCountersSnapshot counters;
    UniqueIndexSnapshot unique_index;
};

struct MetricsSnapshot {
    std::string version;
    std::string protocol;  // "postgres" | "mysql"
    std::uint64_t connections_open = 0, connections_accepted = 0, connections_rejected = 0;
    std::vector<StatementKindSnapshot> statements;
    std::vector<GuardSnapshot> guards;
};

}  // namespace uniqguard::admin
