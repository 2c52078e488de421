// Every key the loader accepts, per section: the readers refuse any other key with these lists,
// and a test holds config/uniqguard.example.toml to documenting each one, so a key added here
// without its documentation fails the build's tests.
#pragma once

#include <array>
#include <span>
#include <string_view>

namespace uniqguard::config {

inline constexpr std::array<std::string_view, 10> listen_keys = {"address",
                                                                 "protocol",
                                                                 "tls_cert",
                                                                 "tls_key",
                                                                 "max_clients",
                                                                 "max_message_bytes",
                                                                 "shutdown_timeout_ms",
                                                                 "auth",
                                                                 "auth_query",
                                                                 "proxy_protocol"};
inline constexpr std::array<std::string_view, 6> backend_keys = {"address", "tls",      "tls_ca",
                                                                 "user",    "password", "database"};
inline constexpr std::array<std::string_view, 2> admin_keys = {"address", "token"};
inline constexpr std::array<std::string_view, 5> log_keys = {"level", "format", "duplicates",
                                                             "log_values", "values_key"};
inline constexpr std::array<std::string_view, 8> guard_keys = {"table",
                                                               "columns",
                                                               "action",
                                                               "name",
                                                               "nulls_distinct",
                                                               "consistency",
                                                               "lock_wait_timeout_ms",
                                                               "when_unready"};

struct SectionKeys {
    std::string_view header;  // as written in a file: "[listen]", "[[guard]]"
    std::span<const std::string_view> keys;
};

inline constexpr std::array<SectionKeys, 5> known_sections = {{
    {"[listen]", listen_keys},
    {"[backend]", backend_keys},
    {"[admin]", admin_keys},
    {"[log]", log_keys},
    {"[[guard]]", guard_keys},
}};

}  // namespace uniqguard::config
