// The quarantine table's name (SPEC §6): "<table>__uniqguard_quarantine", in the guarded
// table's schema. When that exceeds the server's identifier limit (PostgreSQL 63 bytes, which
// it would silently truncate; MySQL 64 characters, which it refuses), the table part is cut
// and "_<8 hex digits of SHA-256 of the table name>" added before the suffix, so two long
// names that share a prefix still get two quarantine tables. Pure.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace uniqguard::app::audit {

inline constexpr std::string_view quarantine_suffix = "__uniqguard_quarantine";

// `limit_in_bytes`: the limit counts bytes (PostgreSQL) or characters (MySQL); the name is
// UTF-8 and never cut inside a character.
std::string quarantine_table_name(std::string_view table, std::size_t limit, bool limit_in_bytes);

}  // namespace uniqguard::app::audit
