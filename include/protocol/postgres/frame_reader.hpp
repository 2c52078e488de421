// Sans-io readers of PostgreSQL frames. They never touch a socket and never allocate: they look
// at the front of a byte span the caller owns and say whether a whole message is there, how many
// bytes it needs, or why the bytes are not a message. The length a peer announces is checked
// against the configured maximum *before* the caller grows any buffer for it.
//
// Calling order: the session keeps its bytes in a buffer; it calls read_*() on the unread part;
//   complete   -> handle `frame`, consume frame.wire_size bytes, call again;
//   need_more  -> make room for `needed` bytes in total (already bounded), read, call again;
//   error      -> answer 08P01 and close the session.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "util/bytes.hpp"

namespace uniqguard::protocol::postgres {

enum class FrameStatus { complete, need_more, error };

enum class FrameError {
    none,
    length_too_small,   // the int32 length is below its own 4 bytes (or below 8 at startup)
    message_too_large,  // above max_message_bytes (or the startup limit)
};

std::string_view describe(FrameError e);

struct Frame {
    char type = 0;           // 0 for untyped startup-phase packets
    std::uint32_t code = 0;  // startup packets: the protocol/request code; typed: unused
    util::Bytes body;        // after the header (typed: 5 bytes; startup: 8 bytes)
    std::size_t wire_size = 0;
};

struct FrameResult {
    FrameStatus status = FrameStatus::need_more;
    Frame frame;
    FrameError error = FrameError::none;
    std::size_t needed = 0;  // need_more: total bytes the frame occupies (or 5/8 for the header)
    std::uint64_t announced_length = 0;  // error: what the peer claimed
};

// PostgreSQL refuses startup packets above 10000 bytes (MAX_STARTUP_PACKET_LENGTH); so do we.
inline constexpr std::uint32_t max_startup_packet_bytes = 10000;

// A typed message: 1 type byte, int32 length (counting itself), body.
FrameResult read_typed_frame(util::Bytes data, std::uint64_t max_message_bytes);

// A startup-phase packet: int32 length (counting itself), int32 code, body.
FrameResult read_startup_frame(util::Bytes data);

}  // namespace uniqguard::protocol::postgres
