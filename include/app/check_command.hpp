// `uniqguard check -c FILE [--user U] [--password-env VAR]` (SPEC §1): validates the
// configuration, connects to the backend, and prints for each guard whether it can be enforced.
#pragma once

#include <optional>
#include <string>

namespace uniqguard::app {

struct CheckOptions {
    std::string config_path;
    std::optional<std::string> user;          // instead of backend.user
    std::optional<std::string> password_env;  // environment variable holding the password
};

// Exit status: 0 every guard can be enforced; 1 at least one cannot; 2 configuration or
// connection error (the reason on stderr).
int check_command(const CheckOptions& options);

}  // namespace uniqguard::app
