// `uniqguard serve -c FILE`: load the configuration and run the proxy until a signal.
#pragma once

#include <string>

namespace uniqguard::app {

int serve_command(const std::string& config_path);

}  // namespace uniqguard::app
