// Process-wide logging (spdlog to stderr), configured from [log].
#pragma once

#include "config/config.hpp"

namespace uniqguard::app {

void setup_logging(const config::Log& log);

}  // namespace uniqguard::app
