#include "protocol/mysql/packet_scanner.hpp"

#include <algorithm>
#include <cstring>

#include "protocol/mysql/packet_reader.hpp"
#include "protocol/mysql/wire.hpp"

namespace uniqguard::protocol::mysql {

void PacketScanner::feed(util::Bytes chunk, PacketObserver& observer) {
    std::size_t i = 0;
    while (i < chunk.size()) {
        if (!in_frame_) {
            const std::size_t take = std::min(frame_header_bytes - header_have_, chunk.size() - i);
            std::memcpy(header_.data() + header_have_, chunk.data() + i, take);
            header_have_ += take;
            i += take;
            if (header_have_ < frame_header_bytes) return;
            header_have_ = 0;
            frame_left_ = read_u24_le(header_.data());
            continues_ = frame_left_ == max_frame_payload;
            in_frame_ = true;
            if (first_frame_) {
                first_sequence_ = header_[3];
                first_frame_length_ = frame_left_;
                head_have_ = 0;
            }
        }
        const std::size_t take = std::min<std::size_t>(frame_left_, chunk.size() - i);
        if (first_frame_ && head_have_ < head_.size()) {
            const std::size_t copy = std::min(take, head_.size() - head_have_);
            std::memcpy(head_.data() + head_have_, chunk.data() + i, copy);
            head_have_ += copy;
        }
        frame_left_ -= static_cast<std::uint32_t>(take);
        i += take;
        if (frame_left_ > 0) return;  // the frame continues in the next chunk
        in_frame_ = false;
        if (continues_) {
            first_frame_ = false;
            continue;
        }
        first_frame_ = true;
        observer.on_packet(first_sequence_,
                           ServerPacketHead{.head = {head_.data(), head_have_},
                                            .first_frame_length = first_frame_length_});
    }
}

}  // namespace uniqguard::protocol::mysql
