#include "protocol/mysql/packet_reader.hpp"

#include "protocol/mysql/wire.hpp"

namespace uniqguard::protocol::mysql {

namespace {
PacketResult need(std::size_t n) {
    PacketResult r;
    r.needed = n;
    return r;
}

PacketResult fail(PacketError e, std::uint64_t announced) {
    PacketResult r;
    r.status = PacketStatus::error;
    r.error = e;
    r.announced_bytes = announced;
    return r;
}
}  // namespace

PacketResult read_packet(util::Bytes data, std::uint64_t max_payload_bytes) {
    std::size_t offset = 0;
    std::uint64_t payload = 0;
    std::size_t frames = 0;
    std::uint8_t first_sequence = 0;
    std::uint8_t sequence = 0;
    for (;;) {
        if (data.size() - offset < frame_header_bytes) return need(offset + frame_header_bytes);
        const std::uint8_t* header = data.data() + offset;
        const std::uint32_t length = read_u24_le(header);
        const std::uint8_t frame_sequence = header[3];
        if (frames == 0) {
            first_sequence = frame_sequence;
        } else if (frame_sequence != static_cast<std::uint8_t>(sequence + 1)) {
            return fail(PacketError::out_of_order, payload);
        }
        sequence = frame_sequence;
        payload += length;
        if (payload > max_payload_bytes) return fail(PacketError::too_large, payload);
        const std::size_t frame_end = offset + frame_header_bytes + length;
        if (data.size() < frame_end) return need(frame_end);
        ++frames;
        offset = frame_end;
        if (length < max_frame_payload) break;
    }
    PacketResult r;
    r.status = PacketStatus::complete;
    r.packet.first_sequence = first_sequence;
    r.packet.last_sequence = sequence;
    r.packet.frames = frames;
    r.packet.payload_size = static_cast<std::size_t>(payload);
    r.packet.wire_size = offset;
    r.packet.wire = data.first(offset);
    const std::size_t first_length = read_u24_le(data.data());
    r.packet.first_payload = data.subspan(frame_header_bytes, first_length);
    return r;
}

std::string join_payload(const Packet& packet) {
    std::string out;
    out.reserve(packet.payload_size);
    std::size_t offset = 0;
    for (std::size_t i = 0; i < packet.frames; ++i) {
        const std::uint32_t length = read_u24_le(packet.wire.data() + offset);
        out.append(util::as_chars(packet.wire.subspan(offset + frame_header_bytes, length)));
        offset += frame_header_bytes + length;
    }
    return out;
}

}  // namespace uniqguard::protocol::mysql
