// The /guards page: one JSON object per guard (docs/operations.md shows one).
#pragma once

#include <string>
#include <vector>

#include "admin/snapshot.hpp"

namespace uniqguard::admin {

std::string render_guards_json(const std::vector<GuardSnapshot>& guards);

}  // namespace uniqguard::admin
