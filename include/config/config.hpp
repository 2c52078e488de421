// The validated configuration of SPEC §2. Plain data: the loader (config/loader.hpp) turns a
// TOML file into it, and nothing else in the program reads TOML.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace uniqguard::config {

// "host:port". IPv6 hosts are written in brackets ("[::1]:6432") and stored without them.
struct Endpoint {
    std::string host;
    std::uint16_t port = 0;
    std::string to_string() const;  // "host:port", brackets restored for IPv6
};

enum class Protocol { postgres, mysql };
enum class ClientAuth { relay, terminate };
enum class BackendTls { disable, prefer, require, verify_full };
enum class LogFormat { text, json };
enum class GuardAction { reject, ignore, log };
enum class Consistency { cache, strict };
enum class WhenUnready { refuse, forward };
enum class ProxyProtocol { off, v1, v2 };  // true = v1

struct Listen {
    Endpoint address{"0.0.0.0", 6432};
    Protocol protocol = Protocol::postgres;
    std::optional<std::string> tls_cert;  // both or neither (validated)
    std::optional<std::string> tls_key;
    std::uint32_t max_clients = 10000;
    std::uint64_t max_message_bytes = 1073741824;
    std::chrono::milliseconds shutdown_timeout{30000};
    ClientAuth auth = ClientAuth::relay;
    std::string auth_query = "SELECT rolname, rolpassword FROM pg_authid WHERE rolname = $1";
    ProxyProtocol proxy_protocol = ProxyProtocol::off;

    bool tls_enabled() const { return tls_cert.has_value(); }
};

struct Backend {
    Endpoint address{"127.0.0.1", 5432};
    BackendTls tls = BackendTls::prefer;
    std::optional<std::string> tls_ca;  // required by verify-full
    std::string user = "uniqguard";
    std::string password;  // after ${VAR} expansion; never logged
    std::string database = "app";
};

struct Admin {
    Endpoint address{"127.0.0.1", 9187};
    std::optional<std::string> token;
};

struct Log {
    std::string level = "info";  // trace debug info warn error
    LogFormat format = LogFormat::text;
    std::string duplicates = "stdout";  // "stdout", "stderr" or a file path
    bool log_values = true;
    std::optional<std::string> values_key;
};

struct Guard {
    std::string table;                 // as written: "schema.table" or "table"
    std::vector<std::string> columns;  // at least one, no repeats
    GuardAction action = GuardAction::reject;
    std::string name;  // given, or derived: "<table>_<col1>_<col2>_uniq" (table without schema)
    bool nulls_distinct = true;
    Consistency consistency = Consistency::cache;
    std::chrono::milliseconds lock_wait_timeout{0};
    WhenUnready when_unready = WhenUnready::refuse;
    int source_line = 0;  // line of the [[guard]] header, for later messages
};

struct Config {
    std::string source_path;  // the file it was read from
    Listen listen;
    Backend backend;
    Admin admin;
    Log log;
    std::vector<Guard> guards;
};

}  // namespace uniqguard::config
