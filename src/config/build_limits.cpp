#include "config/build_limits.hpp"

namespace uniqguard::config {

std::optional<std::string> refused_by_this_build(const Config&) {
    // Nothing at present: MySQL guards run since the first slice of issue 6 (docs/mysql.md says
    // which statement forms they refuse).
    return std::nullopt;
}

std::vector<std::string> not_built_yet(const Config& cfg) {
    std::vector<std::string> lines;
    for (const auto& g : cfg.guards)
        if (g.consistency == Consistency::strict)
            lines.push_back("guard " + g.name +
                            ": consistency = \"strict\" is not built yet: \"cache\" applies");
    if (cfg.listen.auth == ClientAuth::terminate && cfg.listen.protocol == Protocol::mysql)
        lines.push_back(
            "listen.auth = \"terminate\" is built for PostgreSQL only: MySQL/MariaDB "
            "authentication is relayed");
    if (cfg.listen.proxy_protocol != ProxyProtocol::off &&
        cfg.listen.protocol == Protocol::postgres)
        lines.push_back(
            "listen.proxy_protocol is sent to MySQL/MariaDB servers only (PostgreSQL does not "
            "read it): ignored");
    return lines;
}

}  // namespace uniqguard::config
