// Builds MySQL packets: frames of at most 0xFFFFFF payload bytes with consecutive sequence ids,
// and the payloads of the few packets the proxy writes itself (ERR).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/bytes.hpp"

namespace uniqguard::protocol::mysql {

// Appends `payload` as one packet whose first frame has sequence id `sequence`. A payload of
// 0xFFFFFF bytes or more is split, and one that is an exact multiple of 0xFFFFFF ends with an
// empty frame (the reader could not tell where it ends otherwise). Returns the sequence id that
// follows the last frame.
std::uint8_t append_packet(std::string& out, std::uint8_t sequence, util::Bytes payload);
inline std::uint8_t append_packet(std::string& out, std::uint8_t sequence,
                                  std::string_view payload) {
    return append_packet(out, sequence, util::as_bytes(payload));
}

// An error, as the server words it: code, SQLSTATE and message.
struct ServerError {
    std::uint16_t code = 0;
    std::string_view sqlstate;
    std::string message;
};

// ERR_Packet payload (CLIENT_PROTOCOL_41): 0xFF, code, '#', SQLSTATE, message.
std::string err_payload(const ServerError& error);

}  // namespace uniqguard::protocol::mysql
