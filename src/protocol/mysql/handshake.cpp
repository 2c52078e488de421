#include "protocol/mysql/handshake.hpp"

#include "protocol/mysql/capabilities.hpp"
#include "protocol/mysql/wire.hpp"

namespace uniqguard::protocol::mysql {

namespace {
constexpr std::uint8_t protocol_version_10 = 10;
constexpr std::size_t scramble_part1_bytes = 8;
constexpr std::size_t scramble_bytes = 20;
// In the client's response: caps(4) max_packet(4) charset(1), then 19 filler bytes and MariaDB's
// extended capabilities (or 4 more filler bytes).
constexpr std::size_t client_extended_capabilities_offset = 28;

std::string to_string(util::Bytes b) { return std::string(util::as_chars(b)); }
}  // namespace

std::optional<ServerHandshake> decode_server_handshake(util::Bytes payload) {
    PayloadCursor in(payload);
    if (in.u8() != protocol_version_10) return std::nullopt;
    ServerHandshake hs;
    hs.server_version = std::string(in.null_terminated());
    hs.connection_id = in.u32();
    hs.scramble = to_string(in.bytes(scramble_part1_bytes));
    in.skip(1);  // filler
    hs.capabilities_low_offset = in.position();
    hs.capabilities = in.u16();
    if (!in.ok()) return std::nullopt;
    hs.flavour =
        hs.server_version.find("MariaDB") != std::string::npos ? Flavour::mariadb : Flavour::mysql;
    if (in.remaining() == 0) return hs;  // a 4.0-era server: nothing more
    in.skip(1);                          // character set
    in.skip(2);                          // status flags
    hs.capabilities_high_offset = in.position();
    hs.capabilities |= std::uint64_t{in.u16()} << 16;
    const std::uint8_t auth_data_length = in.u8();
    in.skip(6);
    const std::size_t extended_offset = in.position();
    const std::uint32_t extended = in.u32();
    if (!(hs.capabilities & capability::long_password)) {
        hs.extended_capabilities_offset = extended_offset;
        hs.capabilities |= std::uint64_t{extended} << 32;
    }
    if (hs.capabilities & capability::secure_connection) {
        const std::size_t part2 =
            std::max<std::size_t>(13, auth_data_length > 8 ? auth_data_length - 8 : 0);
        auto data = in.bytes(std::min(part2, in.remaining()));
        hs.scramble += to_string(data.first(std::min<std::size_t>(data.size(), 12)));
    }
    if (hs.capabilities & capability::plugin_auth) {
        // Some servers end the name with the payload instead of a NUL.
        auto rest = in.rest();
        auto name = util::as_chars(rest);
        if (auto nul = name.find('\0'); nul != std::string_view::npos) name = name.substr(0, nul);
        hs.auth_plugin = std::string(name);
    }
    if (!in.ok()) return std::nullopt;
    if (hs.scramble.size() > scramble_bytes) hs.scramble.resize(scramble_bytes);
    return hs;
}

std::string rewrite_server_handshake(util::Bytes payload, const ServerHandshake& hs,
                                     std::uint64_t capabilities) {
    std::string out(util::as_chars(payload));
    auto* p = reinterpret_cast<std::uint8_t*>(out.data());
    write_u16_le(p + hs.capabilities_low_offset, static_cast<std::uint16_t>(capabilities));
    if (hs.capabilities_high_offset != 0)
        write_u16_le(p + hs.capabilities_high_offset,
                     static_cast<std::uint16_t>(capabilities >> 16));
    if (hs.extended_capabilities_offset != 0)
        write_u32_le(p + hs.extended_capabilities_offset,
                     static_cast<std::uint32_t>(capabilities >> 32));
    return out;
}

std::optional<ClientHandshake> decode_client_handshake(util::Bytes payload) {
    PayloadCursor in(payload);
    ClientHandshake hs;
    hs.capabilities = in.u32();
    hs.max_packet_size = in.u32();
    hs.character_set = in.u8();
    in.skip(19);
    const std::uint32_t extended = in.u32();
    if (!in.ok() || !(hs.capabilities & capability::protocol_41)) return std::nullopt;
    if (!(hs.capabilities & capability::long_password)) {
        hs.has_extended_capabilities = true;
        hs.capabilities |= std::uint64_t{extended} << 32;
    }
    if (payload.size() == ssl_request_bytes) {
        if (!(hs.capabilities & capability::ssl)) return std::nullopt;
        hs.ssl_request = true;
        return hs;
    }
    hs.user = std::string(in.null_terminated());
    if (hs.capabilities & capability::plugin_auth_lenenc_client_data) {
        const auto length = in.lenenc_int();
        hs.auth_response = to_string(in.bytes(static_cast<std::size_t>(length)));
    } else if (hs.capabilities & capability::secure_connection) {
        const auto length = in.u8();
        hs.auth_response = to_string(in.bytes(length));
    } else {
        hs.auth_response = std::string(in.null_terminated());
    }
    if (hs.capabilities & capability::connect_with_db) {
        if (in.remaining() > 0) hs.database = std::string(in.null_terminated());
    }
    if (hs.capabilities & capability::plugin_auth) {
        if (in.remaining() > 0) hs.auth_plugin = std::string(in.null_terminated());
    }
    // Connection attributes follow; the server reads them, the proxy relays them.
    if (!in.ok()) return std::nullopt;
    return hs;
}

std::string rewrite_client_handshake(util::Bytes payload, const ClientHandshake& hs,
                                     std::uint64_t capabilities) {
    std::string out(util::as_chars(payload));
    auto* p = reinterpret_cast<std::uint8_t*>(out.data());
    write_u32_le(p, static_cast<std::uint32_t>(capabilities));
    if (hs.has_extended_capabilities)
        write_u32_le(p + client_extended_capabilities_offset,
                     static_cast<std::uint32_t>(capabilities >> 32));
    return out;
}

std::string ssl_request_from(util::Bytes rewritten_response) {
    std::string out(util::as_chars(rewritten_response.first(ssl_request_bytes)));
    auto* p = reinterpret_cast<std::uint8_t*>(out.data());
    write_u32_le(p, read_u32_le(p) | static_cast<std::uint32_t>(capability::ssl));
    return out;
}

}  // namespace uniqguard::protocol::mysql
