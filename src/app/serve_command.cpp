#include "app/serve_command.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>

#include "app/logging.hpp"
#include "config/build_limits.hpp"
#include "config/loader.hpp"
#include "proxy/server.hpp"

namespace uniqguard::app {

int serve_command(const std::string& config_path) {
    auto loaded = config::load_file(config_path);
    if (!loaded) {
        std::fprintf(stderr, "uniqguard: %s\n", loaded.error->message.c_str());
        return 2;
    }
    setup_logging(loaded.config->log);
    if (auto why = config::refused_by_this_build(*loaded.config)) {
        spdlog::critical("{}: {}", config_path, *why);
        return 2;
    }
    for (const auto& line : config::not_built_yet(*loaded.config)) spdlog::warn("{}", line);
    proxy::Server server(std::make_shared<const config::Config>(std::move(*loaded.config)));
    return server.run();
}

}  // namespace uniqguard::app
