// Tests of what a reload may change (config_diff.hpp): the settings only a restart changes, the
// guards' changes by name, and when a guard keeps its key set.
#include "config/config_diff.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace uniqguard::config;

namespace {
Guard enroll(std::string name = "enroll_key") {
    Guard g;
    g.table = "public.enroll";
    g.columns = {"user_id", "course_id"};
    g.name = std::move(name);
    return g;
}
}  // namespace

TEST_CASE("a reload may change everything but the addresses and the duplicate log",
          "[config_diff]") {
    const Config running;
    Config next;
    next.listen.max_clients = 7;
    next.listen.tls_cert = "/etc/uniqguard/new.crt";
    next.listen.tls_key = "/etc/uniqguard/new.key";
    next.backend.user = "other";
    next.backend.password = "secret";
    next.admin.token = "t";
    next.log.level = "debug";
    next.guards = {enroll()};
    CHECK(restart_only_changes(running, next).empty());

    next.listen.address.port = 7000;
    next.listen.protocol = Protocol::mysql;
    next.backend.address.host = "10.0.0.2";
    next.admin.address.port = 9999;
    next.log.format = LogFormat::json;
    next.log.duplicates = "/var/log/d.jsonl";
    next.log.log_values = false;
    next.log.values_key = "k";
    CHECK(restart_only_changes(running, next) ==
          std::vector<std::string>{"listen.address", "listen.protocol", "backend.address",
                                   "admin.address", "log.format", "log.duplicates",
                                   "log.log_values", "log.values_key"});
}

TEST_CASE("guard changes by name: added, removed, new key set, settings", "[config_diff]") {
    Guard same = enroll("same");
    Guard action = enroll("action");
    Guard columns = enroll("columns");
    Guard nulls = enroll("nulls");
    Guard gone = enroll("gone");
    Guard table = enroll("table");
    std::vector<Guard> running = {same, action, columns, nulls, gone, table};

    Guard action2 = action;
    action2.action = GuardAction::log;
    action2.source_line = 40;  // moved in the file: not a change
    Guard columns2 = columns;
    columns2.columns = {"course_id", "user_id"};  // another order is another key
    Guard nulls2 = nulls;
    nulls2.nulls_distinct = false;
    Guard table2 = table;
    table2.table = "public.other";
    Guard added = enroll("added");
    std::vector<Guard> next = {same, action2, columns2, nulls2, table2, added};

    const auto c = guard_changes(running, next);
    CHECK(c.added == std::vector<std::string>{"added"});
    CHECK(c.removed == std::vector<std::string>{"gone"});
    CHECK(c.rekeyed == std::vector<std::string>{"columns", "nulls", "table"});
    CHECK(c.adjusted == std::vector<std::string>{"action"});
    CHECK(c.unchanged == std::vector<std::string>{"same"});
    CHECK(c.any());
    CHECK_FALSE(guard_changes(running, running).any());
}

TEST_CASE("the key definition ignores the case of the table name only", "[config_diff]") {
    Guard a = enroll();
    Guard b = enroll("another_name");
    b.table = "PUBLIC.Enroll";
    b.action = GuardAction::ignore;
    b.when_unready = WhenUnready::forward;
    CHECK(same_key_definition(a, b));
    b.columns = {"User_Id", "course_id"};
    CHECK_FALSE(same_key_definition(a, b));
}
