// What audit and dedupe do first: load the configuration, pick the account (--user,
// --password-env: SPEC §6, so the tools can run with an account that may DELETE and CREATE
// while serve keeps a read-only one), and connect to the configured server's kind.
#pragma once

#include <memory>
#include <string>

#include "app/audit_command.hpp"
#include "config/config.hpp"
#include "tool_db.hpp"

namespace uniqguard::app::audit {

inline constexpr int exit_error = 2;

// Prints "uniqguard: message" on stderr; returns exit_error.
int fail(const std::string& message);
void print(const std::string& text);

struct ToolSession {
    config::Config config;
    config::Backend backend;  // with the account applied
    std::unique_ptr<ToolDb> db;
};

// Throws DbError (bad configuration, unset variable, connection refused).
ToolSession open_tool_session(const std::string& config_path, const ToolAccount& account);

}  // namespace uniqguard::app::audit
