#include "config/build_limits.hpp"

namespace uniqguard::config {

std::optional<std::string> refused_by_this_build(const Config& cfg) {
    // The PostgreSQL guard plans each statement against one guard of the table it writes: a
    // second guard on that table would go unenforced. (audit, dedupe and check take several;
    // MySQL/MariaDB guards do too.)
    if (cfg.listen.protocol == Protocol::postgres)
        for (std::size_t later = 0; later < cfg.guards.size(); ++later)
            for (std::size_t earlier = 0; earlier < later; ++earlier)
                if (cfg.guards[earlier].table == cfg.guards[later].table)
                    return "guards " + cfg.guards[earlier].name + " and " + cfg.guards[later].name +
                           " are on one table (" + cfg.guards[later].table +
                           "): with listen.protocol = \"postgres\" this build enforces one "
                           "guard per table, the second would not be enforced (audit, dedupe "
                           "and check take several)";
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
