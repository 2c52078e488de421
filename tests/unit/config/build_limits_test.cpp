#include "config/build_limits.hpp"

#include <catch2/catch.hpp>

using namespace uniqguard::config;

TEST_CASE("TerminateOnPostgresIsBuiltAndNotWarnedAbout", "[config]") {
    Config cfg;
    cfg.listen.protocol = Protocol::postgres;
    cfg.listen.auth = ClientAuth::terminate;
    CHECK(not_built_yet(cfg).empty());
    CHECK_FALSE(refused_by_this_build(cfg));
}

TEST_CASE("TerminateOnMysqlIsWarnedAboutAsRelayed", "[config]") {
    Config cfg;
    cfg.listen.protocol = Protocol::mysql;
    cfg.listen.auth = ClientAuth::terminate;
    CHECK(not_built_yet(cfg) ==
          std::vector<std::string>{
              "listen.auth = \"terminate\" is built for PostgreSQL only: MySQL/MariaDB "
              "authentication is relayed"});
    cfg.listen.auth = ClientAuth::relay;
    CHECK(not_built_yet(cfg).empty());
}

TEST_CASE("MysqlGuardsRunWithEveryActionUnwarned", "[config]") {
    Config cfg;
    cfg.listen.protocol = Protocol::mysql;
    Guard g;
    g.table = "app.t";
    g.columns = {"a"};
    g.name = "t_a_uniq";
    cfg.guards.push_back(g);
    CHECK_FALSE(refused_by_this_build(cfg));
    CHECK(not_built_yet(cfg).empty());
    // action = "ignore" drops duplicate rows on MySQL too (docs/mysql.md).
    cfg.guards[0].action = GuardAction::ignore;
    CHECK(not_built_yet(cfg).empty());
}
