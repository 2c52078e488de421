// The connection phase's first packets: the server's HandshakeV10, the client's SSLRequest and
// HandshakeResponse41. Decoders read what the proxy needs (flavour, capabilities, scramble,
// user, database, authentication plugin) and remember where the capability bytes are, so the
// rewriters change those bytes only and relay every other byte as it came.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "util/bytes.hpp"

namespace uniqguard::protocol::mysql {

enum class Flavour { mysql, mariadb };

struct ServerHandshake {
    std::string
        server_version;  // MariaDB: "5.5.5-10.11.6-MariaDB-..." (the prefix is for old clients)
    Flavour flavour = Flavour::mysql;
    std::uint32_t connection_id = 0;
    std::uint64_t capabilities = 0;  // MariaDB's extended flags above bit 32
    std::string scramble;            // the 20 bytes (8 + 12) the client hashes its password with
    std::string auth_plugin;         // the server's default plugin
    // Offsets of the capability bytes in the payload.
    std::size_t capabilities_low_offset = 0;
    std::size_t capabilities_high_offset = 0;
    std::size_t extended_capabilities_offset = 0;  // 0: not present (MySQL)
};

// nullopt when the payload is not a protocol 10 handshake.
std::optional<ServerHandshake> decode_server_handshake(util::Bytes payload);

// The handshake with `capabilities` in place of the server's (extended ones included when the
// server sent them).
std::string rewrite_server_handshake(util::Bytes payload, const ServerHandshake& handshake,
                                     std::uint64_t capabilities);

// An SSLRequest is the first 32 bytes of a HandshakeResponse41 with CLIENT_SSL set.
inline constexpr std::size_t ssl_request_bytes = 32;

struct ClientHandshake {
    std::uint64_t capabilities = 0;  // MariaDB's extended flags above bit 32 when sent
    bool has_extended_capabilities = false;
    std::uint32_t max_packet_size = 0;
    std::uint8_t character_set = 0;
    bool ssl_request = false;  // only the 32-byte prefix: TLS starts next
    std::string user;
    std::string auth_response;  // opaque: relayed
    std::string database;       // empty without CLIENT_CONNECT_WITH_DB
    std::string auth_plugin;    // empty without CLIENT_PLUGIN_AUTH
};

// nullopt: not a HandshakeResponse41 (protocol 4.1 is required; 3.20 clients are from 2004).
std::optional<ClientHandshake> decode_client_handshake(util::Bytes payload);

// The response (or SSLRequest) with `capabilities` in place of the client's.
std::string rewrite_client_handshake(util::Bytes payload, const ClientHandshake& handshake,
                                     std::uint64_t capabilities);

// An SSLRequest for the server leg, made from the client's (rewritten) response.
std::string ssl_request_from(util::Bytes rewritten_response);

}  // namespace uniqguard::protocol::mysql
