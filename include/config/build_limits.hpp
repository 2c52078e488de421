// Settings the loader accepts (SPEC §2) that this build does not carry out yet. Checked at start
// and at every reload: one refuses the config, the others are warned about, so that nobody
// believes a guard is enforced when it is not.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace uniqguard::config {

// Why this build cannot run the config at all, or nullopt.
std::optional<std::string> refused_by_this_build(const Config& cfg);
// One line per setting that has no effect yet (or a weaker one than the spec's).
std::vector<std::string> not_built_yet(const Config& cfg);

}  // namespace uniqguard::config
