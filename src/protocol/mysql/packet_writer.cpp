#include "protocol/mysql/packet_writer.hpp"

#include "protocol/mysql/packet_reader.hpp"
#include "protocol/mysql/wire.hpp"

namespace uniqguard::protocol::mysql {

std::uint8_t append_packet(std::string& out, std::uint8_t sequence, util::Bytes payload) {
    std::size_t offset = 0;
    for (;;) {
        const std::size_t length =
            std::min<std::size_t>(payload.size() - offset, max_frame_payload);
        std::uint8_t header[frame_header_bytes];
        write_u24_le(header, static_cast<std::uint32_t>(length));
        header[3] = sequence++;
        out.append(reinterpret_cast<const char*>(header), frame_header_bytes);
        out.append(util::as_chars(payload.subspan(offset, length)));
        offset += length;
        if (length < max_frame_payload) return sequence;
    }
}

std::string err_payload(const ServerError& error) {
    std::string out;
    out.push_back(static_cast<char>(0xFF));
    std::uint8_t code[2];
    write_u16_le(code, error.code);
    out.append(reinterpret_cast<const char*>(code), 2);
    out.push_back('#');
    std::string state(error.sqlstate.substr(0, 5));
    state.resize(5, '0');
    out += state;
    out += error.message;
    return out;
}

}  // namespace uniqguard::protocol::mysql
