#include "app/serve_command.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>

#include "app/logging.hpp"
#include "config/loader.hpp"
#include "proxy/server.hpp"

namespace uniqguard::app {

namespace {
// Keys of later milestones are validated already (SPEC §2); saying plainly at start that they
// have no effect yet is better than letting a user believe a guard is enforced.
void warn_about_features_not_built_yet(const config::Config& cfg) {
    for (const auto& g : cfg.guards) {
        if (g.action == config::GuardAction::ignore)
            spdlog::warn(
                "guard {}: action = \"ignore\" is not built yet: duplicates are "
                "rejected as with \"reject\"",
                g.name);
        if (g.consistency == config::Consistency::strict)
            spdlog::warn("guard {}: consistency = \"strict\" is not built yet: \"cache\" applies",
                         g.name);
    }
    if (cfg.listen.auth == config::ClientAuth::terminate)
        spdlog::warn("listen.auth = \"terminate\" is not built yet: authentication is relayed");
    if (cfg.listen.proxy_protocol && cfg.listen.protocol == config::Protocol::postgres)
        spdlog::warn(
            "listen.proxy_protocol is sent to MySQL/MariaDB servers only (PostgreSQL does not "
            "read it): ignored");
}
}  // namespace

int serve_command(const std::string& config_path) {
    auto loaded = config::load_file(config_path);
    if (!loaded) {
        std::fprintf(stderr, "uniqguard: %s\n", loaded.error->message.c_str());
        return 2;
    }
    setup_logging(loaded.config->log);
    if (loaded.config->listen.protocol == config::Protocol::mysql &&
        !loaded.config->guards.empty()) {
        // MySQL sessions relay only; a guard that silently did nothing would let duplicates in.
        spdlog::critical(
            "{}: [[guard]] with listen.protocol = \"mysql\" is not built yet (this build relays "
            "MySQL sessions without guarding them); remove the guards or use PostgreSQL",
            config_path);
        return 2;
    }
    warn_about_features_not_built_yet(*loaded.config);
    proxy::Server server(std::make_shared<const config::Config>(std::move(*loaded.config)));
    return server.run();
}

}  // namespace uniqguard::app
