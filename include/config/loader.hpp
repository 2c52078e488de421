// Reads and validates a configuration file (SPEC §2). Every problem is reported as
// "FILE:LINE: KEY: what is wrong; allowed: ..." so that a user can fix it without the docs.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace uniqguard::config {

// Looks up an environment variable for ${VAR} expansion; injectable for tests.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
EnvLookup process_environment();

struct LoadError {
    std::string message;  // complete, human-readable, starts with "FILE:LINE:"
};

// Result of loading: exactly one of config / error is set.
struct LoadResult {
    std::optional<Config> config;
    std::optional<LoadError> error;
    explicit operator bool() const { return config.has_value(); }
};

LoadResult load_file(const std::string& path, const EnvLookup& env = process_environment());
// `source_name` stands in for the file name in messages.
LoadResult load_string(std::string_view toml_text, const std::string& source_name,
                       const EnvLookup& env = process_environment());

}  // namespace uniqguard::config
