#include "protocol/postgres/backend_stream.hpp"

#include <algorithm>
#include <cstring>

namespace uniqguard::protocol::postgres {

bool BackendStreamScanner::feed(util::Bytes chunk, BackendStreamObserver& observer) {
    std::size_t pos = 0;
    // The open forwarded segment of `chunk`: [segment_start, pos). Consecutive forwarded messages
    // share one segment, so a chunk of plain replies is reported as a single span.
    bool segment_open = body_left_ > 0 && current_.forward;
    std::size_t segment_start = 0;
    auto close_segment = [&](std::size_t end) {
        if (segment_open && end > segment_start)
            observer.on_forward(chunk.subspan(segment_start, end - segment_start));
        segment_open = false;
    };

    while (pos < chunk.size()) {
        if (body_left_ == 0) {
            // At a header, new or continued from the previous chunk.
            const bool header_began_earlier = header_have_ > 0;
            const std::size_t header_start = pos;
            const std::size_t take = std::min<std::size_t>(5 - header_have_, chunk.size() - pos);
            std::memcpy(header_ + header_have_, chunk.data() + pos, take);
            header_have_ += take;
            pos += take;
            if (header_have_ < 5) {
                // Held back until its disposition is known.
                close_segment(header_start);
                return true;
            }
            header_have_ = 0;
            const std::uint32_t length = util::read_u32_be(header_ + 1);
            if (length < 4) return false;
            current_type_ = static_cast<char>(header_[0]);
            body_left_ = length - 4;
            current_ = observer.on_header(current_type_, body_left_);
            if (current_.observe && body_left_ > max_observed_body) return false;
            if (!current_.forward) {
                close_segment(header_start);
            } else if (header_began_earlier) {
                close_segment(header_start);
                std::memcpy(carried_header_, header_, 5);
                observer.on_forward(util::Bytes(carried_header_, 5));
                segment_open = true;
                segment_start = pos;
            } else if (!segment_open) {
                segment_open = true;
                segment_start = header_start;
            }
            if (body_left_ == 0 && current_.observe) observer.on_message(current_type_, {});
            continue;
        }
        const std::size_t take = std::min<std::size_t>(body_left_, chunk.size() - pos);
        if (current_.observe) {
            if (observed_.empty() && take == body_left_) {
                observer.on_message(current_type_, chunk.subspan(pos, take));  // no copy
            } else {
                observed_.append(reinterpret_cast<const char*>(chunk.data() + pos), take);
                if (take == body_left_) {
                    observer.on_message(current_type_, util::as_bytes(observed_));
                    observed_.clear();
                }
            }
        }
        body_left_ -= static_cast<std::uint32_t>(take);
        pos += take;
    }
    close_segment(pos);
    return true;
}

}  // namespace uniqguard::protocol::postgres
