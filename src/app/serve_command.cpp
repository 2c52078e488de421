#include "app/serve_command.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>

#include "app/logging.hpp"
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
    if (loaded.config->listen.protocol != config::Protocol::postgres) {
        spdlog::critical("{}: listen.protocol = \"mysql\" is not supported by this build yet",
                         config_path);
        return 2;
    }
    proxy::Server server(std::make_shared<const config::Config>(std::move(*loaded.config)));
    return server.run();
}

}  // namespace uniqguard::app
