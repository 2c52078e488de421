#include "config/config_diff.hpp"

#include <algorithm>

namespace uniqguard::config {

namespace {
bool same_endpoint(const Endpoint& a, const Endpoint& b) {
    return a.host == b.host && a.port == b.port;
}

std::string ascii_lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

// Everything but the key definition and the line it was written on.
bool same_settings(const Guard& a, const Guard& b) {
    return a.action == b.action && a.consistency == b.consistency &&
           a.lock_wait_timeout == b.lock_wait_timeout && a.when_unready == b.when_unready;
}

const Guard* find_named(const std::vector<Guard>& guards, const std::string& name) {
    const auto it =
        std::find_if(guards.begin(), guards.end(), [&](const Guard& g) { return g.name == name; });
    return it == guards.end() ? nullptr : &*it;
}
}  // namespace

std::vector<std::string> restart_only_changes(const Config& running, const Config& next) {
    std::vector<std::string> keys;
    if (!same_endpoint(running.listen.address, next.listen.address))
        keys.push_back("listen.address");
    if (running.listen.protocol != next.listen.protocol) keys.push_back("listen.protocol");
    if (!same_endpoint(running.backend.address, next.backend.address))
        keys.push_back("backend.address");
    if (!same_endpoint(running.admin.address, next.admin.address)) keys.push_back("admin.address");
    if (running.log.format != next.log.format) keys.push_back("log.format");
    if (running.log.duplicates != next.log.duplicates) keys.push_back("log.duplicates");
    if (running.log.log_values != next.log.log_values) keys.push_back("log.log_values");
    if (running.log.values_key != next.log.values_key) keys.push_back("log.values_key");
    return keys;
}

bool same_key_definition(const Guard& a, const Guard& b) {
    return ascii_lower(a.table) == ascii_lower(b.table) && a.columns == b.columns &&
           a.nulls_distinct == b.nulls_distinct;
}

GuardChanges guard_changes(const std::vector<Guard>& running, const std::vector<Guard>& next) {
    GuardChanges out;
    for (const auto& g : next) {
        const Guard* old = find_named(running, g.name);
        if (old == nullptr)
            out.added.push_back(g.name);
        else if (!same_key_definition(*old, g))
            out.rekeyed.push_back(g.name);
        else if (!same_settings(*old, g))
            out.adjusted.push_back(g.name);
        else
            out.unchanged.push_back(g.name);
    }
    for (const auto& g : running)
        if (find_named(next, g.name) == nullptr) out.removed.push_back(g.name);
    return out;
}

}  // namespace uniqguard::config
