// The server error codes the proxy itself sends, with their server wording (MySQL and MariaDB
// share these).
#pragma once

#include <cstdint>

namespace uniqguard::protocol::mysql::error_code {
inline constexpr std::uint16_t con_count = 1040;        // 08004 Too many connections
inline constexpr std::uint16_t bad_handshake = 1043;    // 08S01 Bad handshake
inline constexpr std::uint16_t access_denied = 1045;    // 28000
inline constexpr std::uint16_t server_shutdown = 1053;  // 08S01 Server shutdown in progress
inline constexpr std::uint16_t dup_entry = 1062;        // 23000 Duplicate entry '…' for key '…'
inline constexpr std::uint16_t net_packet_too_large = 1153;  // 08S01
inline constexpr std::uint16_t lock_wait_timeout = 1205;  // HY000 Lock wait timeout exceeded; …
inline constexpr std::uint16_t lock_deadlock = 1213;      // 40001 Deadlock found when trying …
inline constexpr std::uint16_t net_packets_out_of_order = 1156;  // 08S01 Got packets out of order
inline constexpr std::uint16_t not_supported_yet = 1235;         // 42000 (uniqguard's refusals)
inline constexpr std::uint16_t not_supported_auth_mode = 1251;   // 08004
inline constexpr std::uint16_t query_interrupted = 1317;         // 70100 Query execution was …
// MariaDB: 70100 Query execution was interrupted (max_statement_time exceeded)
inline constexpr std::uint16_t statement_timeout = 1969;
inline constexpr std::uint16_t cant_connect = 2003;  // the client library's own code for this
}  // namespace uniqguard::protocol::mysql::error_code
