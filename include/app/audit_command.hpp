// `uniqguard audit` and `uniqguard dedupe` (SPEC §1, §6): the existing duplicates of each guard,
// and their removal into a quarantine table, on PostgreSQL and MySQL/MariaDB backends.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace uniqguard::app {

struct ToolAccount {
    std::optional<std::string> user;          // instead of backend.user
    std::optional<std::string> password_env;  // environment variable holding the password
};

struct AuditOptions {
    std::string config_path;
    ToolAccount account;
    std::optional<std::string> guard;  // only this guard
    bool json = false;                 // --format json
    std::uint64_t limit = 100;         // groups listed per guard; totals are always complete
};

// 0 no duplicates; 1 duplicates found; 2 error (configuration, connection, a guard's table).
int audit_command(const AuditOptions& options);

struct DedupeOptions {
    std::string config_path;
    ToolAccount account;
    std::string guard;
    bool keep_newest = false;             // --keep newest
    std::optional<std::string> order_by;  // --order-by COL
    bool repoint = false;                 // --repoint
    bool apply = false;                   // --apply
    std::uint64_t limit = 100;            // groups listed in the plan
};

// 0 plan printed or applied; 1 nothing to do; 2 error (nothing changed).
int dedupe_command(const DedupeOptions& options);

}  // namespace uniqguard::app
