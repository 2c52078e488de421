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

TEST_CASE("TwoGuardsOnOnePostgresTableAreRefusedToServe", "[config]") {
    // A PostgreSQL statement is planned against one guard of its table: the second key would go
    // unenforced. MySQL/MariaDB check every guard of the table.
    Config cfg;
    cfg.listen.protocol = Protocol::postgres;
    Guard a;
    a.table = "public.t";
    a.columns = {"a"};
    a.name = "t_a_uniq";
    Guard b = a;
    b.columns = {"b"};
    b.name = "t_b_uniq";
    cfg.guards = {a, b};
    CHECK(refused_by_this_build(cfg) ==
          "guards t_a_uniq and t_b_uniq are on one table (public.t): with listen.protocol = "
          "\"postgres\" this build enforces one guard per table, the second would not be "
          "enforced (audit, dedupe and check take several)");
    cfg.guards[1].table = "public.u";
    CHECK_FALSE(refused_by_this_build(cfg));
    cfg.guards[1].table = "public.t";
    cfg.listen.protocol = Protocol::mysql;
    CHECK_FALSE(refused_by_this_build(cfg));
}
