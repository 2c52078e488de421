// What a reload (SIGHUP) may change, and what changed: the running config against the file read
// again. Pure functions on two validated configs; proxy/config_reload applies the result.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace uniqguard::config {

// The keys that differ and that only a restart can change: the addresses the proxy is bound to
// or connects to (listen.address, listen.protocol, backend.address, admin.address) and the
// duplicate log's destination and contents (log.format, log.duplicates, log.log_values,
// log.values_key). Empty: the file may be applied.
std::vector<std::string> restart_only_changes(const Config& running, const Config& next);

// The guards by name, for the reload's log line.
struct GuardChanges {
    std::vector<std::string> added;
    std::vector<std::string> removed;
    std::vector<std::string> rekeyed;   // same name, another table, columns or NULL rule
    std::vector<std::string> adjusted;  // same keys; action, when_unready, ... changed
    std::vector<std::string> unchanged;
    bool any() const {
        return !added.empty() || !removed.empty() || !rekeyed.empty() || !adjusted.empty();
    }
};
GuardChanges guard_changes(const std::vector<Guard>& running, const std::vector<Guard>& next);

// Whether two guards read the same keys: the same table (as an unquoted name: case-insensitive),
// the same columns in the same order and the same NULL rule. Such a guard keeps its key set
// across a reload.
bool same_key_definition(const Guard& a, const Guard& b);

}  // namespace uniqguard::config
