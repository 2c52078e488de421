// Capability flags of protocol 10, and the choice of which ones the proxy lets a session use.
//
// The flags are kept as one 64-bit set: the low 32 bits are the standard flags; MariaDB's
// extended flags travel in the handshake's reserved bytes (when the server clears bit 0,
// CLIENT_MYSQL) and are kept here shifted up by 32, as MariaDB's own client library does.
#pragma once

#include <cstdint>

namespace uniqguard::protocol::mysql {

namespace capability {
inline constexpr std::uint64_t long_password = 1;  // MariaDB: CLIENT_MYSQL (clear = MariaDB)
inline constexpr std::uint64_t found_rows = 1 << 1;
inline constexpr std::uint64_t long_flag = 1 << 2;
inline constexpr std::uint64_t connect_with_db = 1 << 3;
inline constexpr std::uint64_t no_schema = 1 << 4;
inline constexpr std::uint64_t compress = 1 << 5;
inline constexpr std::uint64_t odbc = 1 << 6;
inline constexpr std::uint64_t local_files = 1 << 7;
inline constexpr std::uint64_t ignore_space = 1 << 8;
inline constexpr std::uint64_t protocol_41 = 1 << 9;
inline constexpr std::uint64_t interactive = 1 << 10;
inline constexpr std::uint64_t ssl = 1 << 11;
inline constexpr std::uint64_t ignore_sigpipe = 1 << 12;
inline constexpr std::uint64_t transactions = 1 << 13;
inline constexpr std::uint64_t reserved = 1 << 14;
inline constexpr std::uint64_t secure_connection = 1 << 15;
inline constexpr std::uint64_t multi_statements = 1 << 16;
inline constexpr std::uint64_t multi_results = 1 << 17;
inline constexpr std::uint64_t ps_multi_results = 1 << 18;
inline constexpr std::uint64_t plugin_auth = 1 << 19;
inline constexpr std::uint64_t connect_attrs = 1 << 20;
inline constexpr std::uint64_t plugin_auth_lenenc_client_data = 1 << 21;
inline constexpr std::uint64_t can_handle_expired_passwords = 1 << 22;
inline constexpr std::uint64_t session_track = 1 << 23;
inline constexpr std::uint64_t deprecate_eof = 1 << 24;
inline constexpr std::uint64_t optional_resultset_metadata = 1 << 25;  // MySQL 8
inline constexpr std::uint64_t zstd_compression = 1 << 26;             // MySQL 8
inline constexpr std::uint64_t query_attributes = 1 << 27;             // MySQL 8
inline constexpr std::uint64_t multi_factor_authentication = 1 << 28;  // MySQL 8
inline constexpr std::uint64_t ssl_verify_server_cert = 1u << 30;
inline constexpr std::uint64_t remember_options = 1u << 31;
// MariaDB's extended flags.
inline constexpr std::uint64_t mariadb_progress = 1ull << 32;
inline constexpr std::uint64_t mariadb_com_multi = 1ull << 33;
inline constexpr std::uint64_t mariadb_stmt_bulk_operations = 1ull << 34;
inline constexpr std::uint64_t mariadb_extended_metadata = 1ull << 35;
inline constexpr std::uint64_t mariadb_cache_metadata = 1ull << 36;
inline constexpr std::uint64_t mariadb_bulk_unit_results = 1ull << 37;
}  // namespace capability

// What the proxy can relay. An allow-list, so that a flag a future server invents (and that
// might change a packet layout) is never offered to a client by accident. Left out on purpose:
//   compress, zstd_compression: the proxy would have to inflate every packet to see commands;
//   query_attributes (MySQL 8), mariadb_stmt_bulk_operations: they change the layout of
//     COM_QUERY and COM_STMT_EXECUTE, which the guard reads;
//   optional_resultset_metadata, mariadb_cache_metadata: result sets without column
//     definitions, which the response tracker counts;
//   multi_factor_authentication: more authentication rounds than the relay knows;
//   mariadb_com_multi, mariadb_bulk_unit_results: commands and replies it does not track.
// ssl is not in the list: each leg decides it on its own (listen.tls_*, backend.tls).
inline constexpr std::uint64_t relayable_capabilities =
    capability::long_password | capability::found_rows | capability::long_flag |
    capability::connect_with_db | capability::no_schema | capability::odbc |
    capability::local_files | capability::ignore_space | capability::protocol_41 |
    capability::interactive | capability::ignore_sigpipe | capability::transactions |
    capability::reserved | capability::secure_connection | capability::multi_statements |
    capability::multi_results | capability::ps_multi_results | capability::plugin_auth |
    capability::connect_attrs | capability::plugin_auth_lenenc_client_data |
    capability::can_handle_expired_passwords | capability::session_track |
    capability::deprecate_eof | capability::ssl_verify_server_cert | capability::remember_options |
    capability::mariadb_progress | capability::mariadb_extended_metadata;

// The flags offered to the client in the handshake the proxy relays.
inline std::uint64_t capabilities_offered_to_client(std::uint64_t server_capabilities,
                                                    bool client_tls_available) {
    return (server_capabilities & relayable_capabilities) |
           (client_tls_available ? capability::ssl : 0);
}

// The flags the proxy announces to the server on the client's behalf: what the client asked for
// among those it was offered (so a client cannot switch on a flag the proxy took out), with ssl
// as the server leg decided. CLIENT_MULTI_STATEMENTS, CLIENT_DEPRECATE_EOF and the others pass
// as the client set them, so both legs agree on every packet layout.
inline std::uint64_t capabilities_sent_to_server(std::uint64_t client_capabilities,
                                                 std::uint64_t offered, bool server_tls) {
    return (client_capabilities & offered & ~capability::ssl) | (server_tls ? capability::ssl : 0);
}

}  // namespace uniqguard::protocol::mysql
