// Tests of the configuration loader (SPEC §2): defaults, every key, every validation rule with
// the exact message a user sees, ${VAR} expansion, and reading from disk.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "config/config.hpp"
#include "config/loader.hpp"

using namespace uniqguard::config;
using std::chrono::milliseconds;

namespace {

// An environment that holds exactly `vars`, so that no test depends on the real one.
EnvLookup fake_env(std::map<std::string, std::string> vars = {}) {
    return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
        const auto it = vars.find(std::string(name));
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
}

Config load_ok(std::string_view text, const EnvLookup& env = fake_env()) {
    LoadResult result = load_string(text, "test.toml", env);
    INFO((result.error ? result.error->message : std::string("no error")));
    REQUIRE(result);
    REQUIRE_FALSE(result.error);
    return *result.config;
}

std::string load_error(std::string_view text, const EnvLookup& env = fake_env()) {
    LoadResult result = load_string(text, "test.toml", env);
    REQUIRE_FALSE(result);
    REQUIRE_FALSE(result.config);
    REQUIRE(result.error);
    return result.error->message;
}

// The repository's config/ directory, found from this file's own path so that the test does not
// depend on the directory it runs in.
std::filesystem::path repo_config_dir() {
    return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path() /
           "config";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Defaults and complete files

TEST_CASE("an empty file is valid and gives every default", "[config]") {
    const Config config = load_ok("");
    CHECK(config.source_path == "test.toml");

    CHECK(config.listen.address.host == "0.0.0.0");
    CHECK(config.listen.address.port == 6432);
    CHECK(config.listen.protocol == Protocol::postgres);
    CHECK_FALSE(config.listen.tls_cert);
    CHECK_FALSE(config.listen.tls_key);
    CHECK_FALSE(config.listen.tls_enabled());
    CHECK(config.listen.max_clients == 10000);
    CHECK(config.listen.max_message_bytes == 1073741824);
    CHECK(config.listen.shutdown_timeout == milliseconds(30000));
    CHECK(config.listen.auth == ClientAuth::relay);
    CHECK(config.listen.auth_query ==
          "SELECT rolname, rolpassword FROM pg_authid WHERE rolname = $1");
    CHECK(config.listen.proxy_protocol == ProxyProtocol::off);

    CHECK(config.backend.address.host == "127.0.0.1");
    CHECK(config.backend.address.port == 5432);
    CHECK(config.backend.tls == BackendTls::prefer);
    CHECK_FALSE(config.backend.tls_ca);
    CHECK(config.backend.user == "uniqguard");
    CHECK(config.backend.password.empty());
    CHECK(config.backend.database == "app");

    CHECK(config.admin.address.host == "127.0.0.1");
    CHECK(config.admin.address.port == 9187);
    CHECK_FALSE(config.admin.token);

    CHECK(config.log.level == "info");
    CHECK(config.log.format == LogFormat::text);
    CHECK(config.log.duplicates == "stdout");
    CHECK(config.log.log_values);
    CHECK_FALSE(config.log.values_key);

    CHECK(config.guards.empty());
}

TEST_CASE("empty sections keep their defaults", "[config]") {
    const Config config = load_ok("[listen]\n[backend]\n[admin]\n[log]\n");
    CHECK(config.listen.address.to_string() == "0.0.0.0:6432");
    CHECK(config.backend.address.to_string() == "127.0.0.1:5432");
    CHECK(config.admin.address.to_string() == "127.0.0.1:9187");
    CHECK(config.guards.empty());
}

TEST_CASE("a file that sets every key is read into every field", "[config]") {
    const Config config =
        load_ok(R"(
[listen]
address = "[::1]:7000"
protocol = "mysql"
tls_cert = "/etc/uniqguard/server.crt"
tls_key = "/etc/uniqguard/server.key"
max_clients = 500
max_message_bytes = 16777216
shutdown_timeout_ms = 1500
auth = "terminate"
auth_query = "SELECT 1 WHERE $1 IS NOT NULL"
proxy_protocol = true

[backend]
address = "db.internal:3306"
tls = "verify-full"
tls_ca = "/etc/uniqguard/ca.crt"
user = "guard"
password = "${PW}"
database = "appdb"

[admin]
address = "0.0.0.0:9999"
token = "${TOKEN}"

[log]
level = "debug"
format = "json"
duplicates = "/var/log/uniqguard/duplicates.jsonl"
log_values = false
values_key = "${LOGKEY}"

[[guard]]
table = "appdb.courses_enroll"
columns = ["user_id", "course_id"]
action = "ignore"
name = "enroll_once"
nulls_distinct = true
consistency = "strict"
lock_wait_timeout_ms = 2500
when_unready = "forward"

[[guard]]
table = "orders"
columns = ["customer_id"]
)",
                fake_env({{"PW", "s3cret"}, {"TOKEN", "t0k"}, {"LOGKEY", "k3y"}}));

    CHECK(config.listen.address.host == "::1");
    CHECK(config.listen.address.port == 7000);
    CHECK(config.listen.protocol == Protocol::mysql);
    CHECK(config.listen.tls_cert == "/etc/uniqguard/server.crt");
    CHECK(config.listen.tls_key == "/etc/uniqguard/server.key");
    CHECK(config.listen.tls_enabled());
    CHECK(config.listen.max_clients == 500);
    CHECK(config.listen.max_message_bytes == 16777216);
    CHECK(config.listen.shutdown_timeout == milliseconds(1500));
    CHECK(config.listen.auth == ClientAuth::terminate);
    CHECK(config.listen.auth_query == "SELECT 1 WHERE $1 IS NOT NULL");
    CHECK(config.listen.proxy_protocol == ProxyProtocol::v1);

    CHECK(config.backend.address.host == "db.internal");
    CHECK(config.backend.address.port == 3306);
    CHECK(config.backend.tls == BackendTls::verify_full);
    CHECK(config.backend.tls_ca == "/etc/uniqguard/ca.crt");
    CHECK(config.backend.user == "guard");
    CHECK(config.backend.password == "s3cret");
    CHECK(config.backend.database == "appdb");

    CHECK(config.admin.address.to_string() == "0.0.0.0:9999");
    CHECK(config.admin.token == "t0k");

    CHECK(config.log.level == "debug");
    CHECK(config.log.format == LogFormat::json);
    CHECK(config.log.duplicates == "/var/log/uniqguard/duplicates.jsonl");
    CHECK_FALSE(config.log.log_values);
    CHECK(config.log.values_key == "k3y");

    REQUIRE(config.guards.size() == 2);
    const Guard& enroll = config.guards[0];
    CHECK(enroll.table == "appdb.courses_enroll");
    CHECK(enroll.columns == std::vector<std::string>{"user_id", "course_id"});
    CHECK(enroll.action == GuardAction::ignore);
    CHECK(enroll.name == "enroll_once");
    CHECK(enroll.nulls_distinct);
    CHECK(enroll.consistency == Consistency::strict);
    CHECK(enroll.lock_wait_timeout == milliseconds(2500));
    CHECK(enroll.when_unready == WhenUnready::forward);
    CHECK(enroll.source_line == 33);

    const Guard& orders = config.guards[1];
    CHECK(orders.table == "orders");
    CHECK(orders.columns == std::vector<std::string>{"customer_id"});
    CHECK(orders.action == GuardAction::reject);
    CHECK(orders.name == "orders_customer_id_uniq");
    CHECK(orders.nulls_distinct);
    CHECK(orders.consistency == Consistency::cache);
    CHECK(orders.lock_wait_timeout == milliseconds(0));
    CHECK(orders.when_unready == WhenUnready::refuse);
    CHECK(orders.source_line == 43);
}

TEST_CASE("inline tables are accepted like [sections]", "[config]") {
    const Config config = load_ok(
        "listen = { address = \"127.0.0.1:1234\" }\n"
        "guard = [{ table = \"t\", columns = [\"a\"] }]\n");
    CHECK(config.listen.address.to_string() == "127.0.0.1:1234");
    REQUIRE(config.guards.size() == 1);
    CHECK(config.guards[0].name == "t_a_uniq");
}

TEST_CASE("the shipped example and dev-stack files load", "[config]") {
    const auto env = fake_env({{"UNIQGUARD_BACKEND_PASSWORD", "pw"},
                               {"UNIQGUARD_ADMIN_TOKEN", "tok"},
                               {"UNIQGUARD_LOG_KEY", "key"}});

    SECTION("uniqguard.example.toml") {
        const LoadResult result =
            load_file((repo_config_dir() / "uniqguard.example.toml").string(), env);
        INFO((result.error ? result.error->message : std::string("no error")));
        REQUIRE(result);
        CHECK(result.config->guards.size() == 1);
    }
    SECTION("dev-stack.toml") {
        const LoadResult result = load_file((repo_config_dir() / "dev-stack.toml").string(), env);
        INFO((result.error ? result.error->message : std::string("no error")));
        REQUIRE(result);
        const Config& config = *result.config;
        CHECK(config.listen.address.to_string() == "127.0.0.1:6432");
        CHECK(config.listen.protocol == Protocol::postgres);
        CHECK(config.backend.address.to_string() == "127.0.0.1:54320");
        CHECK(config.backend.tls == BackendTls::disable);
        CHECK(config.backend.user == "uniqguard");
        CHECK(config.backend.password == "pw");
        CHECK(config.backend.database == "app");
        CHECK(config.admin.address.to_string() == "127.0.0.1:9187");
        REQUIRE(config.guards.size() == 1);
        CHECK(config.guards[0].table == "public.courses_enroll");
        CHECK(config.guards[0].columns == std::vector<std::string>{"user_id", "course_id"});
        CHECK(config.guards[0].action == GuardAction::reject);
        CHECK(config.guards[0].name == "courses_enroll_user_id_course_id_uniq");
    }
}

// ---------------------------------------------------------------------------------------------
// TOML syntax and unknown keys

TEST_CASE("a TOML syntax error names the file and line", "[config]") {
    CHECK(load_error("[listen]\naddress = \n") ==
          "test.toml:2: invalid TOML at column 11: Error while parsing key-value pair: expected "
          "value, saw '\\n'");
    CHECK(
        load_error("[listen]\n[listen]\n").starts_with("test.toml:2: invalid TOML at column 1: "));
}

TEST_CASE("an unknown key in a section is an error listing the allowed keys", "[config]") {
    CHECK(load_error("[listen]\nadress = \"0.0.0.0:1\"\n") ==
          "test.toml:2: listen.adress: unknown key; allowed keys in [listen]: address, protocol, "
          "tls_cert, tls_key, max_clients, max_message_bytes, shutdown_timeout_ms, auth, "
          "auth_query, proxy_protocol");
    CHECK(load_error("[backend]\nuser = \"u\"\npasword = \"x\"\n") ==
          "test.toml:3: backend.pasword: unknown key; allowed keys in [backend]: address, tls, "
          "tls_ca, user, password, database");
    CHECK(load_error("[admin]\ntokn = \"x\"\n") ==
          "test.toml:2: admin.tokn: unknown key; allowed keys in [admin]: address, token");
    CHECK(load_error("[log]\nlevel = \"info\"\nformats = \"json\"\n") ==
          "test.toml:3: log.formats: unknown key; allowed keys in [log]: level, format, "
          "duplicates, log_values, values_key");
}

TEST_CASE("an unknown key in a [[guard]] names the guard by its 1-based position", "[config]") {
    CHECK(load_error(R"([[guard]]
table = "a"
columns = ["x"]

[[guard]]
table = "b"
columns = ["y"]
acton = "log"
)") == "test.toml:8: guard[2].acton: unknown key; allowed keys in [[guard]]: table, columns, "
       "action, name, nulls_distinct, consistency, lock_wait_timeout_ms, when_unready");
}

TEST_CASE("the unknown key reported is the first one in the file", "[config]") {
    // toml::table orders keys alphabetically; "zzz" comes first in the file.
    CHECK(load_error("[listen]\nzzz = 1\naaa = 2\n").starts_with("test.toml:2: listen.zzz: "));
    CHECK(load_error("zzz = 1\naaa = 2\n").starts_with("test.toml:1: zzz: "));
}

TEST_CASE("an unknown key is reported before the values it may have replaced", "[config]") {
    CHECK(load_error("[[guard]]\ntabel = \"t\"\ncolumns = [\"a\"]\n")
              .starts_with("test.toml:2: guard[1].tabel: unknown key; "));
}

TEST_CASE("an unknown top-level table or key is an error", "[config]") {
    CHECK(load_error("[listen]\n\n[lsten]\naddress = \"0.0.0.0:1\"\n") ==
          "test.toml:3: lsten: unknown key; allowed top-level tables: [listen], [backend], "
          "[admin], [log], [[guard]]");
    CHECK(load_error("debug = true\n") ==
          "test.toml:1: debug: unknown key; allowed top-level tables: [listen], [backend], "
          "[admin], [log], [[guard]]");
    CHECK(
        load_error("[[guards]]\ntable = \"t\"\n").starts_with("test.toml:1: guards: unknown key"));
}

TEST_CASE("a nested table inside a section is an unknown key", "[config]") {
    CHECK(load_error("[listen.tls]\ncert = \"x\"\n") ==
          "test.toml:1: listen.tls: unknown key; allowed keys in [listen]: address, protocol, "
          "tls_cert, tls_key, max_clients, max_message_bytes, shutdown_timeout_ms, auth, "
          "auth_query, proxy_protocol");
}

// ---------------------------------------------------------------------------------------------
// Types

TEST_CASE("a section that is not a table is an error", "[config]") {
    CHECK(load_error("listen = 5\n") ==
          "test.toml:1: listen: expected a table, found an integer; allowed: a [listen] table");
    CHECK(load_error("backend = \"x\"\n") ==
          "test.toml:1: backend: expected a table, found a string; allowed: a [backend] table");
}

TEST_CASE("guard must be an array of tables", "[config]") {
    CHECK(load_error("[guard]\ntable = \"t\"\n") ==
          "test.toml:1: guard: expected an array of tables, found a table; allowed: [[guard]] "
          "tables");
    CHECK(load_error("guard = [1]\n") ==
          "test.toml:1: guard[1]: expected a table, found an integer; allowed: [[guard]] tables");
}

TEST_CASE("a value of the wrong type names the expected type", "[config]") {
    CHECK(load_error("[listen]\nprotocol = 5\n") ==
          "test.toml:2: listen.protocol: expected a string, found an integer; allowed: "
          "\"postgres\", \"mysql\"");
    CHECK(load_error("[listen]\nmax_clients = \"100\"\n") ==
          "test.toml:2: listen.max_clients: expected an integer, found a string; allowed: "
          "1..1000000");
    CHECK(load_error("[listen]\nmax_clients = 100.0\n") ==
          "test.toml:2: listen.max_clients: expected an integer, found a floating-point number; "
          "allowed: 1..1000000");
    CHECK(load_error("[listen]\nproxy_protocol = \"yes\"\n") ==
          "test.toml:2: listen.proxy_protocol: \"yes\" is not allowed; allowed: \"v1\", \"v2\"");
    CHECK(load_error("[listen]\nproxy_protocol = 2\n") ==
          "test.toml:2: listen.proxy_protocol: expected a boolean, found an integer; allowed: "
          "true, false");
    CHECK(load_ok("[listen]\nproxy_protocol = \"v2\"\n").listen.proxy_protocol ==
          ProxyProtocol::v2);
    CHECK(load_ok("[listen]\nproxy_protocol = \"v1\"\n").listen.proxy_protocol ==
          ProxyProtocol::v1);
    CHECK(load_ok("[listen]\nproxy_protocol = false\n").listen.proxy_protocol ==
          ProxyProtocol::off);
    CHECK(load_error("[listen]\naddress = 6432\n") ==
          "test.toml:2: listen.address: expected a string, found an integer; allowed: "
          "\"host:port\" or \"[ipv6]:port\", port 1..65535");
    CHECK(load_error("[backend]\nuser = [\"a\"]\n") ==
          "test.toml:2: backend.user: expected a string, found an array; allowed: a database "
          "user name");
    CHECK(load_error("[log]\nlog_values = 0\n") ==
          "test.toml:2: log.log_values: expected a boolean, found an integer; allowed: true, "
          "false");
    CHECK(load_error("[[guard]]\ntable = \"t\"\ncolumns = \"a\"\n") ==
          "test.toml:3: guard[1].columns: expected an array of strings, found a string; allowed: "
          "a non-empty array of distinct column names");
    CHECK(load_error("[[guard]]\ntable = \"t\"\ncolumns = [\"a\", 2]\n") ==
          "test.toml:3: guard[1].columns[2]: expected a string, found an integer; allowed: a "
          "non-empty array of distinct column names");
    CHECK(load_error("[[guard]]\ntable = 1979-05-27\ncolumns = [\"a\"]\n") ==
          "test.toml:2: guard[1].table: expected a string, found a date; allowed: \"table\" or "
          "\"schema.table\"");
}

// ---------------------------------------------------------------------------------------------
// Choices

TEST_CASE("a value outside a fixed set lists the allowed values", "[config]") {
    CHECK(load_error("[listen]\naddress = \"0.0.0.0:6432\"\nprotocol = \"pgsql\"\n") ==
          "test.toml:3: listen.protocol: \"pgsql\" is not allowed; allowed: \"postgres\", "
          "\"mysql\"");
    CHECK(load_error("[listen]\nauth = \"scram\"\n") ==
          "test.toml:2: listen.auth: \"scram\" is not allowed; allowed: \"relay\", \"terminate\"");
    CHECK(load_error("[backend]\ntls = \"verify-ca\"\n") ==
          "test.toml:2: backend.tls: \"verify-ca\" is not allowed; allowed: \"disable\", "
          "\"prefer\", \"require\", \"verify-full\"");
    CHECK(load_error("[log]\nlevel = \"warning\"\n") ==
          "test.toml:2: log.level: \"warning\" is not allowed; allowed: \"trace\", \"debug\", "
          "\"info\", \"warn\", \"error\"");
    CHECK(load_error("[log]\nformat = \"logfmt\"\n") ==
          "test.toml:2: log.format: \"logfmt\" is not allowed; allowed: \"text\", \"json\"");
    CHECK(load_error("[[guard]]\ntable = \"t\"\ncolumns = [\"a\"]\naction = \"deny\"\n") ==
          "test.toml:4: guard[1].action: \"deny\" is not allowed; allowed: \"reject\", "
          "\"ignore\", \"log\"");
    CHECK(load_error("[[guard]]\ntable = \"t\"\ncolumns = [\"a\"]\nconsistency = \"eventual\"\n") ==
          "test.toml:4: guard[1].consistency: \"eventual\" is not allowed; allowed: \"cache\", "
          "\"strict\"");
    CHECK(load_error("[[guard]]\ntable = \"t\"\ncolumns = [\"a\"]\nwhen_unready = \"wait\"\n") ==
          "test.toml:4: guard[1].when_unready: \"wait\" is not allowed; allowed: \"refuse\", "
          "\"forward\"");
}

TEST_CASE("choices are case-sensitive", "[config]") {
    CHECK(load_error("[listen]\nprotocol = \"Postgres\"\n") ==
          "test.toml:2: listen.protocol: \"Postgres\" is not allowed; allowed: \"postgres\", "
          "\"mysql\"");
}

TEST_CASE("every allowed choice is accepted", "[config]") {
    CHECK(load_ok("[listen]\nauth = \"terminate\"\nprotocol = \"mysql\"\n").listen.auth ==
          ClientAuth::terminate);
    CHECK(load_ok("[backend]\ntls = \"disable\"\n").backend.tls == BackendTls::disable);
    CHECK(load_ok("[backend]\ntls = \"require\"\n").backend.tls == BackendTls::require);
    for (const char* level : {"trace", "debug", "info", "warn", "error"}) {
        CHECK(load_ok(std::string("[log]\nlevel = \"") + level + "\"\n").log.level == level);
    }
    CHECK(load_ok("[log]\nduplicates = \"stderr\"\n").log.duplicates == "stderr");
    CHECK(load_ok("[[guard]]\ntable = \"t\"\ncolumns = [\"a\"]\naction = \"log\"\n")
              .guards[0]
              .action == GuardAction::log);
}

// ---------------------------------------------------------------------------------------------
// Ranges

TEST_CASE("integers outside their range are errors naming the range", "[config]") {
    CHECK(load_error("[listen]\nmax_clients = 0\n") ==
          "test.toml:2: listen.max_clients: 0 is out of range; allowed: 1..1000000");
    CHECK(load_error("[listen]\nmax_clients = 1000001\n") ==
          "test.toml:2: listen.max_clients: 1000001 is out of range; allowed: 1..1000000");
    CHECK(load_error("[listen]\nmax_message_bytes = 1023\n") ==
          "test.toml:2: listen.max_message_bytes: 1023 is out of range; allowed: "
          "1024..1073741824");
    CHECK(load_error("[listen]\nmax_message_bytes = 1073741825\n") ==
          "test.toml:2: listen.max_message_bytes: 1073741825 is out of range; allowed: "
          "1024..1073741824");
    CHECK(load_error("[listen]\nshutdown_timeout_ms = -1\n") ==
          "test.toml:2: listen.shutdown_timeout_ms: -1 is out of range; allowed: 0..86400000");
    CHECK(load_error("[listen]\nshutdown_timeout_ms = 86400001\n") ==
          "test.toml:2: listen.shutdown_timeout_ms: 86400001 is out of range; allowed: "
          "0..86400000");
    CHECK(load_error("[[guard]]\ntable = \"t\"\ncolumns = [\"a\"]\nlock_wait_timeout_ms = -5\n") ==
          "test.toml:4: guard[1].lock_wait_timeout_ms: -5 is out of range; allowed: "
          "0..2147483647");
}

TEST_CASE("the bounds of each range are accepted", "[config]") {
    CHECK(load_ok("[listen]\nmax_clients = 1\n").listen.max_clients == 1);
    CHECK(load_ok("[listen]\nmax_clients = 1000000\n").listen.max_clients == 1000000);
    CHECK(load_ok("[listen]\nmax_message_bytes = 1024\n").listen.max_message_bytes == 1024);
    CHECK(load_ok("[listen]\nmax_message_bytes = 1073741824\n").listen.max_message_bytes ==
          1073741824);
    CHECK(load_ok("[listen]\nshutdown_timeout_ms = 0\n").listen.shutdown_timeout ==
          milliseconds(0));
    CHECK(load_ok("[listen]\nshutdown_timeout_ms = 86400000\n").listen.shutdown_timeout ==
          milliseconds(86400000));
    CHECK(load_ok("[[guard]]\ntable = \"t\"\ncolumns = [\"a\"]\nlock_wait_timeout_ms = 0\n")
              .guards[0]
              .lock_wait_timeout == milliseconds(0));
}

// ---------------------------------------------------------------------------------------------
// Addresses

TEST_CASE("addresses are host:port or [ipv6]:port", "[config]") {
    const Config v4 = load_ok("[backend]\naddress = \"10.0.0.5:5433\"\n");
    CHECK(v4.backend.address.host == "10.0.0.5");
    CHECK(v4.backend.address.port == 5433);

    const Config name = load_ok("[backend]\naddress = \"db.example.com:65535\"\n");
    CHECK(name.backend.address.host == "db.example.com");
    CHECK(name.backend.address.port == 65535);

    const Config v6 = load_ok("[admin]\naddress = \"[fe80::1%eth0]:1\"\n");
    CHECK(v6.admin.address.host == "fe80::1%eth0");
    CHECK(v6.admin.address.port == 1);
}

TEST_CASE("a malformed address is an error saying what is wrong", "[config]") {
    const std::string allowed = "; allowed: \"host:port\" or \"[ipv6]:port\", port 1..65535";
    CHECK(load_error("[listen]\naddress = \"localhost\"\n") ==
          "test.toml:2: listen.address: \"localhost\" has no port" + allowed);
    CHECK(load_error("[listen]\naddress = \"localhost:0\"\n") ==
          "test.toml:2: listen.address: port 0 is out of range" + allowed);
    CHECK(load_error("[listen]\naddress = \"localhost:65536\"\n") ==
          "test.toml:2: listen.address: port 65536 is out of range" + allowed);
    CHECK(load_error("[listen]\naddress = \"localhost:99999999999999999999\"\n") ==
          "test.toml:2: listen.address: port 99999999999999999999 is out of range" + allowed);
    CHECK(load_error("[backend]\naddress = \"localhost:pg\"\n") ==
          "test.toml:2: backend.address: \"localhost:pg\": the port is not a number" + allowed);
    CHECK(load_error("[backend]\naddress = \"localhost:\"\n") ==
          "test.toml:2: backend.address: \"localhost:\": the port is not a number" + allowed);
    CHECK(load_error("[backend]\naddress = \":5432\"\n") ==
          "test.toml:2: backend.address: \":5432\" has no host" + allowed);
    CHECK(load_error("[admin]\naddress = \"::1:9187\"\n") ==
          "test.toml:2: admin.address: \"::1:9187\": an IPv6 address must be written in brackets" +
              allowed);
    CHECK(load_error("[admin]\naddress = \"[::1:9187\"\n") ==
          "test.toml:2: admin.address: \"[::1:9187\" has no closing ']'" + allowed);
    CHECK(load_error("[admin]\naddress = \"[::1]9187\"\n") ==
          "test.toml:2: admin.address: \"[::1]9187\" has no ':port' after ']'" + allowed);
    CHECK(load_error("[admin]\naddress = \"[]:9187\"\n") ==
          "test.toml:2: admin.address: \"[]:9187\": brackets are only for IPv6 addresses" +
              allowed);
    CHECK(load_error("[admin]\naddress = \"[localhost]:9187\"\n") ==
          "test.toml:2: admin.address: \"[localhost]:9187\": brackets are only for IPv6 "
          "addresses" +
              allowed);
    CHECK(load_error("[admin]\naddress = \"local host:9187\"\n") ==
          "test.toml:2: admin.address: \"local host:9187\": the host contains a space" + allowed);
    CHECK(load_error("[admin]\naddress = \"host:+80\"\n") ==
          "test.toml:2: admin.address: \"host:+80\": the port is not a number" + allowed);
}

TEST_CASE("Endpoint::to_string puts IPv6 brackets back", "[config]") {
    CHECK(Endpoint{"127.0.0.1", 5432}.to_string() == "127.0.0.1:5432");
    CHECK(Endpoint{"db.internal", 3306}.to_string() == "db.internal:3306");
    CHECK(Endpoint{"::1", 6432}.to_string() == "[::1]:6432");
    CHECK(load_ok("[listen]\naddress = \"[::]:6432\"\n").listen.address.to_string() == "[::]:6432");
}

// ---------------------------------------------------------------------------------------------
// Rules across keys

TEST_CASE("listen.tls_cert and listen.tls_key are set together or not at all", "[config]") {
    CHECK(load_error("[listen]\ntls_cert = \"/c.pem\"\n") ==
          "test.toml:2: listen.tls_cert: is set but listen.tls_key is not; allowed: both "
          "tls_cert and tls_key, or neither");
    CHECK(load_error("[listen]\n\ntls_key = \"/k.pem\"\n") ==
          "test.toml:3: listen.tls_key: is set but listen.tls_cert is not; allowed: both "
          "tls_cert and tls_key, or neither");
    CHECK(load_error("[listen]\ntls_cert = \"\"\ntls_key = \"/k.pem\"\n") ==
          "test.toml:2: listen.tls_cert: must not be empty; allowed: a PEM certificate file path");
}

TEST_CASE("a wrongly typed tls_cert is reported as such, not as a missing pair", "[config]") {
    CHECK(load_error("[listen]\ntls_cert = 1\n") ==
          "test.toml:2: listen.tls_cert: expected a string, found an integer; allowed: a PEM "
          "certificate file path");
}

TEST_CASE("backend.tls = verify-full needs backend.tls_ca", "[config]") {
    CHECK(load_error("[backend]\naddress = \"db:5432\"\ntls = \"verify-full\"\n") ==
          "test.toml:3: backend.tls: \"verify-full\" needs backend.tls_ca; allowed: \"disable\", "
          "\"prefer\", \"require\", or \"verify-full\" with tls_ca set");
    CHECK(load_ok("[backend]\ntls = \"verify-full\"\ntls_ca = \"/ca.pem\"\n").backend.tls_ca ==
          "/ca.pem");
}

TEST_CASE("log.log_values = false needs log.values_key", "[config]") {
    CHECK(load_error("[log]\nlog_values = false\n") ==
          "test.toml:2: log.log_values: false needs log.values_key; allowed: true, or false with "
          "values_key set");
    const Config config = load_ok("[log]\nlog_values = false\nvalues_key = \"k\"\n");
    CHECK_FALSE(config.log.log_values);
    CHECK(config.log.values_key == "k");
}

TEST_CASE("listen.auth = terminate is accepted for both protocols", "[config]") {
    CHECK(load_ok("[listen]\nprotocol = \"postgres\"\nauth = \"terminate\"\n").listen.auth ==
          ClientAuth::terminate);
    CHECK(load_ok("[listen]\nprotocol = \"mysql\"\nauth = \"terminate\"\n").listen.auth ==
          ClientAuth::terminate);
}

TEST_CASE("strings that must name something may not be empty", "[config]") {
    CHECK(load_error("[backend]\nuser = \"\"\n") ==
          "test.toml:2: backend.user: must not be empty; allowed: a database user name");
    CHECK(load_error("[backend]\ndatabase = \"\"\n") ==
          "test.toml:2: backend.database: must not be empty; allowed: a database name");
    CHECK(load_error("[admin]\ntoken = \"\"\n") ==
          "test.toml:2: admin.token: must not be empty; allowed: a non-empty string, usually "
          "\"${VAR}\"");
    CHECK(load_error("[log]\nduplicates = \"\"\n") ==
          "test.toml:2: log.duplicates: must not be empty; allowed: \"stdout\", \"stderr\" or a "
          "file path");
    CHECK(load_error("[listen]\nauth_query = \"\"\n") ==
          "test.toml:2: listen.auth_query: must not be empty; allowed: an SQL query with one "
          "parameter, $1");
    // An empty password is fine: trust and peer authentication have none.
    CHECK(load_ok("[backend]\npassword = \"\"\n").backend.password.empty());
}

// ---------------------------------------------------------------------------------------------
// Guards

TEST_CASE("a guard without a table or columns names the [[guard]] line", "[config]") {
    CHECK(load_error("[listen]\n\n[[guard]]\ncolumns = [\"a\"]\n") ==
          "test.toml:3: guard[1].table: required key is missing; allowed: \"table\" or "
          "\"schema.table\"");
    CHECK(load_error("[[guard]]\ntable = \"t\"\ncolumns = [\"a\"]\n\n[[guard]]\ntable = \"u\"\n") ==
          "test.toml:5: guard[2].columns: required key is missing; allowed: a non-empty array of "
          "distinct column names");
}

TEST_CASE("guard.table is 'table' or 'schema.table'", "[config]") {
    const std::string allowed = "; allowed: \"table\" or \"schema.table\"";
    CHECK(load_error("[[guard]]\ntable = \"\"\ncolumns = [\"a\"]\n") ==
          "test.toml:2: guard[1].table: must not be empty" + allowed);
    CHECK(load_error("[[guard]]\ntable = \"db.public.t\"\ncolumns = [\"a\"]\n") ==
          "test.toml:2: guard[1].table: \"db.public.t\" has more than one '.'" + allowed);
    CHECK(load_error("[[guard]]\ntable = \".t\"\ncolumns = [\"a\"]\n") ==
          "test.toml:2: guard[1].table: \".t\" has an empty schema or table name" + allowed);
    CHECK(load_error("[[guard]]\ntable = \"s.\"\ncolumns = [\"a\"]\n") ==
          "test.toml:2: guard[1].table: \"s.\" has an empty schema or table name" + allowed);
}

TEST_CASE("guard.columns is a non-empty array of distinct non-empty names", "[config]") {
    const std::string allowed = "; allowed: a non-empty array of distinct column names";
    CHECK(load_error("[[guard]]\ntable = \"t\"\ncolumns = []\n") ==
          "test.toml:3: guard[1].columns: must not be empty" + allowed);
    CHECK(load_error("[[guard]]\ntable = \"t\"\ncolumns = [\"a\", \"\"]\n") ==
          "test.toml:3: guard[1].columns[2]: must not be empty" + allowed);
    CHECK(load_error("[[guard]]\ntable = \"t\"\ncolumns = [\n  \"a\",\n  \"b\",\n  \"a\",\n]\n") ==
          "test.toml:6: guard[1].columns[3]: \"a\" is repeated" + allowed);
}

TEST_CASE("a guard without a name gets <table>_<columns>_uniq", "[config]") {
    const Config config = load_ok(R"([[guard]]
table = "public.courses_enroll"
columns = ["user_id", "course_id"]

[[guard]]
table = "users"
columns = ["email"]
)");
    REQUIRE(config.guards.size() == 2);
    CHECK(config.guards[0].name == "courses_enroll_user_id_course_id_uniq");
    CHECK(config.guards[0].source_line == 1);
    CHECK(config.guards[1].name == "users_email_uniq");
    CHECK(config.guards[1].source_line == 5);
}

TEST_CASE("a given guard name must not be empty", "[config]") {
    CHECK(load_error("[[guard]]\ntable = \"t\"\ncolumns = [\"a\"]\nname = \"\"\n") ==
          "test.toml:4: guard[1].name: must not be empty; allowed: a non-empty string");
}

TEST_CASE("guard names are unique", "[config]") {
    CHECK(load_error(R"([[guard]]
table = "t"
columns = ["a"]
name = "k"

[[guard]]
table = "u"
columns = ["b"]
name = "k"
)") == "test.toml:9: guard[2].name: \"k\" is already the name of guard[1] (line 1); allowed: a "
       "name no other guard has");
}

TEST_CASE("a derived guard name may collide with a given one", "[config]") {
    CHECK(load_error(R"([[guard]]
table = "u"
columns = ["b"]
name = "t_a_uniq"

[[guard]]
table = "t"
columns = ["a"]
)") == "test.toml:6: guard[2].name: the derived name \"t_a_uniq\" is already the name of "
       "guard[1] (line 1); allowed: a name no other guard has");
}

TEST_CASE("two guards on the same table and column set are an error", "[config]") {
    CHECK(load_error(R"([[guard]]
table = "public.t"
columns = ["a", "b"]
name = "first"

[[guard]]
table = "public.t"
columns = ["b", "a"]
name = "second"
)") == "test.toml:8: guard[2].columns: same table and columns as guard[1] (line 1); allowed: "
       "one guard per table and set of columns");
}

TEST_CASE("guards on one table with different column sets are fine", "[config]") {
    const Config config = load_ok(R"([[guard]]
table = "t"
columns = ["a", "b"]

[[guard]]
table = "t"
columns = ["a"]
)");
    REQUIRE(config.guards.size() == 2);
    CHECK(config.guards[0].name == "t_a_b_uniq");
    CHECK(config.guards[1].name == "t_a_uniq");
}

TEST_CASE("nulls_distinct = false is PostgreSQL only", "[config]") {
    CHECK(load_error(R"([listen]
protocol = "mysql"

[[guard]]
table = "t"
columns = ["a"]
nulls_distinct = false
)") == "test.toml:7: guard[1].nulls_distinct: false is only supported with listen.protocol = "
       "\"postgres\"; allowed: true");

    const Config config = load_ok(R"([listen]
protocol = "postgres"

[[guard]]
table = "t"
columns = ["a"]
nulls_distinct = false
)");
    CHECK_FALSE(config.guards[0].nulls_distinct);
    CHECK(load_ok("[listen]\nprotocol = \"mysql\"\n[[guard]]\ntable = \"t\"\ncolumns = "
                  "[\"a\"]\nnulls_distinct = true\n")
              .guards[0]
              .nulls_distinct);
}

// ---------------------------------------------------------------------------------------------
// ${VAR} expansion

TEST_CASE("${VAR} is expanded in every string value", "[config]") {
    const Config config = load_ok(R"([listen]
address = "${HOST}:${PORT}"
tls_cert = "${DIR}/server.crt"
tls_key = "${DIR}/server.key"

[backend]
user = "${USER}"
password = "pre-${PW}-post"
database = "${DB}"

[[guard]]
table = "${SCHEMA}.t"
columns = ["${COL}", "b"]
action = "${ACTION}"
)",
                                  fake_env({{"HOST", "10.1.2.3"},
                                            {"PORT", "7777"},
                                            {"DIR", "/etc/ug"},
                                            {"USER", "svc"},
                                            {"PW", "p"},
                                            {"DB", "shop"},
                                            {"SCHEMA", "sales"},
                                            {"COL", "a"},
                                            {"ACTION", "log"}}));
    CHECK(config.listen.address.to_string() == "10.1.2.3:7777");
    CHECK(config.listen.tls_cert == "/etc/ug/server.crt");
    CHECK(config.listen.tls_key == "/etc/ug/server.key");
    CHECK(config.backend.user == "svc");
    CHECK(config.backend.password == "pre-p-post");
    CHECK(config.backend.database == "shop");
    REQUIRE(config.guards.size() == 1);
    CHECK(config.guards[0].table == "sales.t");
    CHECK(config.guards[0].columns == std::vector<std::string>{"a", "b"});
    CHECK(config.guards[0].action == GuardAction::log);
    CHECK(config.guards[0].name == "t_a_b_uniq");
}

TEST_CASE("an unset variable is an error naming it and the key", "[config]") {
    CHECK(load_error("[backend]\npassword = \"${UNIQGUARD_BACKEND_PASSWORD}\"\n") ==
          "test.toml:2: backend.password: environment variable UNIQGUARD_BACKEND_PASSWORD is not "
          "set");
    CHECK(load_error("[[guard]]\ntable = \"t\"\ncolumns = [\"a\", \"${COL}\"]\n") ==
          "test.toml:3: guard[1].columns[2]: environment variable COL is not set");
}

TEST_CASE("an empty variable expands to the empty string", "[config]") {
    CHECK(load_ok("[backend]\npassword = \"${EMPTY}\"\n", fake_env({{"EMPTY", ""}}))
              .backend.password.empty());
    // ... and is then checked like any other value.
    CHECK(load_error("[backend]\nuser = \"${EMPTY}\"\n", fake_env({{"EMPTY", ""}})) ==
          "test.toml:2: backend.user: must not be empty; allowed: a database user name");
}

TEST_CASE("a lone $ and $$ are kept as written", "[config]") {
    const auto env = fake_env({{"X", "x"}});
    CHECK(load_ok("[backend]\npassword = \"a$b\"\n", env).backend.password == "a$b");
    CHECK(load_ok("[backend]\npassword = \"$\"\n", env).backend.password == "$");
    CHECK(load_ok("[backend]\npassword = \"a$$b\"\n", env).backend.password == "a$$b");
    CHECK(load_ok("[backend]\npassword = \"$${X}\"\n", env).backend.password == "$x");
    CHECK(load_ok("[backend]\npassword = \"{X}$\"\n", env).backend.password == "{X}$");
    CHECK(load_ok("[listen]\nauth_query = \"SELECT $1\"\n", env).listen.auth_query == "SELECT $1");
}

TEST_CASE("an expanded value is not expanded again", "[config]") {
    const auto env = fake_env({{"A", "${B}"}, {"B", "never"}});
    CHECK(load_ok("[backend]\npassword = \"${A}\"\n", env).backend.password == "${B}");
}

TEST_CASE("a ${ that does not start a reference is an error", "[config]") {
    const std::string problem =
        ": \"${\" must start a reference of the form ${NAME} (NAME: letters, digits and '_', not "
        "starting with a digit)";
    CHECK(load_error("[backend]\npassword = \"ab${PW\"\n") ==
          "test.toml:2: backend.password" + problem);
    CHECK(load_error("[backend]\nuser = \"${}\"\n") == "test.toml:2: backend.user" + problem);
    CHECK(load_error("[backend]\nuser = \"${1X}\"\n") == "test.toml:2: backend.user" + problem);
    CHECK(load_error("[backend]\nuser = \"${A-B}\"\n") == "test.toml:2: backend.user" + problem);
}

TEST_CASE("secret values never appear in error messages", "[config]") {
    const std::string secret = "hunter2-very-secret";
    const auto env = fake_env({{"SECRET", secret}});

    // Every check a secret key goes through, with the secret in the raw text or the environment.
    const std::string messages[] = {
        load_error("[backend]\npassword = \"" + secret + "${BROKEN\"\n", env),
        load_error("[backend]\npassword = \"" + secret + "${MISSING}\"\n", env),
        load_error("[admin]\ntoken = \"${SECRET}${MISSING}\"\n", env),
        load_error("[log]\nvalues_key = \"${SECRET}${MISSING}\"\n", env),
        load_error("[log]\nvalues_key = \"${SECRET}\"\nlog_values = \"no\"\n", env),
    };
    for (const auto& message : messages) {
        INFO(message);
        CHECK(message.find(secret) == std::string::npos);
        CHECK(message.find("hunter2") == std::string::npos);
    }
    CHECK(messages[1] == "test.toml:2: backend.password: environment variable MISSING is not set");
}

// ---------------------------------------------------------------------------------------------
// Errors: one at a time, the first found

TEST_CASE("only the first problem is reported", "[config]") {
    const std::string message = load_error(R"([listen]
protocol = "pgsql"
max_clients = 0
)");
    CHECK(message ==
          "test.toml:2: listen.protocol: \"pgsql\" is not allowed; allowed: "
          "\"postgres\", \"mysql\"");
    CHECK(message.find('\n') == std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Files

TEST_CASE("load_file on a missing path names the path", "[config]") {
    const std::string path = "/nonexistent/uniqguard-test/missing.toml";
    const LoadResult result = load_file(path, fake_env());
    REQUIRE_FALSE(result);
    REQUIRE(result.error);
    CHECK(result.error->message == path + ": cannot read the file: No such file or directory");
}

TEST_CASE("load_file on a directory says it cannot be read", "[config]") {
    const std::string path = std::filesystem::temp_directory_path().string();
    const LoadResult result = load_file(path, fake_env());
    REQUIRE(result.error);
    CHECK(result.error->message == path + ": cannot read the file: Is a directory");
}

TEST_CASE("load_file reads a file and names it in messages", "[config]") {
    const auto path = std::filesystem::temp_directory_path() / "uniqguard_config_loader_test.toml";
    {
        std::ofstream out(path);
        out << "[listen]\naddress = \"127.0.0.1:6543\"\n";
    }
    const LoadResult good = load_file(path.string(), fake_env());
    REQUIRE(good);
    CHECK(good.config->source_path == path.string());
    CHECK(good.config->listen.address.port == 6543);

    {
        std::ofstream out(path);
        out << "[listen]\n\nprotocol = \"pgsql\"\n";
    }
    const LoadResult bad = load_file(path.string(), fake_env());
    std::filesystem::remove(path);
    REQUIRE(bad.error);
    CHECK(bad.error->message == path.string() +
                                    ":3: listen.protocol: \"pgsql\" is not allowed; allowed: "
                                    "\"postgres\", \"mysql\"");
}
