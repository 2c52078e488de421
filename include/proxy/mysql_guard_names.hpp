// Names as the MySQL guard compares them, shared by its files (proxy/mysql_guard.cpp,
// proxy/mysql_guard_update.cpp): table and column names without ASCII case, the column an
// assignment target names, a guard's table as "db.t", and the server's NO_BACKSLASH_ESCAPES
// status flag.
#pragma once
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

#include "guard/guard_registry.hpp"

namespace uniqguard::proxy::mysql_names {

constexpr std::uint16_t no_backslash_escapes_flag = 0x0200;  // SERVER_STATUS_NO_BACKSLASH_ESCAPES

// Over-guarding rather than under-guarding: names compare without ASCII case, whatever
// lower_case_table_names says.
inline bool same_name(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// The column named by an assignment target (`t.k` or `k`).
inline std::string_view column_of(std::string_view target) {
    const auto dot = target.rfind('.');
    return dot == std::string_view::npos ? target : target.substr(dot + 1);
}

// Whether the proxy reads the session's text as the server does: its sql_mode is known, and the
// server's NO_BACKSLASH_ESCAPES status flag (once a reply brought one) agrees with it.
inline bool follows_sql_mode(bool sql_mode_known, bool dialect_no_backslash_escapes,
                             std::uint16_t server_status, bool status_seen) {
    const bool server_nbe = (server_status & no_backslash_escapes_flag) != 0;
    return sql_mode_known && (!status_seen || server_nbe == dialect_no_backslash_escapes);
}

// The guard's table as "db.t" (as configured until its key set has loaded).
inline std::string table_of(const guard::GuardState& g) {
    if (const auto* t = g.mysql_table()) return t->schema + "." + t->name;
    return g.config().table;
}

}  // namespace uniqguard::proxy::mysql_names
