// Sans-io reader of MySQL protocol 10 packets. A frame is a 3-byte little-endian payload length,
// a sequence id and the payload; a payload of 0xFFFFFF bytes or more is split into frames of
// 0xFFFFFF, the last one shorter (empty when the payload is an exact multiple). One *packet* is
// the whole run of frames. The reader never allocates and never touches a socket: it looks at
// the front of a span the caller owns.
//
// Calling order, as for the PostgreSQL frame readers:
//   complete   -> handle `packet`, consume packet.wire_size bytes, call again;
//   need_more  -> make room for `needed` bytes in total (already checked against the maximum),
//                 read, call again;
//   error      -> answer with an ERR packet (error_for()) and close the session.
// The announced lengths are added up and checked against the maximum as each frame header
// arrives, before the caller grows a buffer for the payload.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "util/bytes.hpp"

namespace uniqguard::protocol::mysql {

inline constexpr std::size_t frame_header_bytes = 4;
inline constexpr std::uint32_t max_frame_payload = 0xFFFFFF;

enum class PacketStatus { complete, need_more, error };

enum class PacketError {
    none,
    too_large,     // the payload announced so far exceeds the maximum
    out_of_order,  // a continuation frame whose sequence id does not follow the previous one
};

struct Packet {
    std::uint8_t first_sequence = 0;
    std::uint8_t last_sequence = 0;  // the peer's reply continues from last_sequence + 1
    std::size_t frames = 0;
    std::size_t payload_size = 0;  // all frames' payloads together
    std::size_t wire_size = 0;     // headers included
    util::Bytes wire;              // the packet's bytes as they arrived, headers included
    util::Bytes first_payload;     // the first frame's payload: the whole payload when frames == 1
};

struct PacketResult {
    PacketStatus status = PacketStatus::need_more;
    Packet packet;
    PacketError error = PacketError::none;
    std::size_t needed = 0;             // need_more: bytes the buffer must hold to progress
    std::uint64_t announced_bytes = 0;  // too_large: the payload bytes announced so far
};

PacketResult read_packet(util::Bytes data, std::uint64_t max_payload_bytes);

// The payload of a packet, frame headers removed (a copy: for the rare split packet that a
// decoder must read whole).
std::string join_payload(const Packet& packet);

}  // namespace uniqguard::protocol::mysql
