#include "protocol/postgres/frame_reader.hpp"

namespace uniqguard::protocol::postgres {

std::string_view describe(FrameError e) {
    switch (e) {
        case FrameError::none:
            return "no error";
        case FrameError::length_too_small:
            return "invalid message length";
        case FrameError::message_too_large:
            return "message too large";
    }
    return "unknown frame error";
}

namespace {
constexpr std::size_t typed_header_bytes = 5;
constexpr std::size_t startup_header_bytes = 8;

FrameResult need(std::size_t n) {
    FrameResult r;
    r.status = FrameStatus::need_more;
    r.needed = n;
    return r;
}

FrameResult fail(FrameError e, std::uint64_t announced) {
    FrameResult r;
    r.status = FrameStatus::error;
    r.error = e;
    r.announced_length = announced;
    return r;
}
}  // namespace

FrameResult read_typed_frame(util::Bytes data, std::uint64_t max_message_bytes) {
    if (data.size() < typed_header_bytes) return need(typed_header_bytes);
    const std::uint32_t length = util::read_u32_be(data.data() + 1);
    if (length < 4) return fail(FrameError::length_too_small, length);
    if (length > max_message_bytes) return fail(FrameError::message_too_large, length);
    const std::size_t total = std::size_t{length} + 1;
    if (data.size() < total) return need(total);
    FrameResult r;
    r.status = FrameStatus::complete;
    r.frame.type = static_cast<char>(data[0]);
    r.frame.body = data.subspan(typed_header_bytes, total - typed_header_bytes);
    r.frame.wire_size = total;
    return r;
}

FrameResult read_startup_frame(util::Bytes data) {
    // The length is judged as soon as its 4 bytes are in, as the server does: a client that
    // sends a bad length and waits must get its error, not a hang.
    if (data.size() < 4) return need(startup_header_bytes);
    const std::uint32_t length = util::read_u32_be(data.data());
    if (length < startup_header_bytes) return fail(FrameError::length_too_small, length);
    if (length > max_startup_packet_bytes) return fail(FrameError::message_too_large, length);
    if (data.size() < length) return need(length);
    FrameResult r;
    r.status = FrameStatus::complete;
    r.frame.code = util::read_u32_be(data.data() + 4);
    r.frame.body = data.subspan(startup_header_bytes, length - startup_header_bytes);
    r.frame.wire_size = length;
    return r;
}

}  // namespace uniqguard::protocol::postgres
