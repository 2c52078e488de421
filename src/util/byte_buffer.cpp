#include "util/byte_buffer.hpp"

#include <cstring>

namespace uniqguard::util {

std::span<std::uint8_t> ByteBuffer::writable(std::size_t min_free) {
    if (capacity_ - end_ < min_free) {
        const std::size_t used = end_ - begin_;
        if (capacity_ - used >= min_free) {
            std::memmove(base(), base() + begin_, used);
        } else {
            auto bigger = std::make_unique_for_overwrite<std::uint8_t[]>(used + min_free);
            if (used > 0) std::memcpy(bigger.get(), base() + begin_, used);
            heap_ = std::move(bigger);
            capacity_ = used + min_free;
        }
        begin_ = 0;
        end_ = used;
    }
    return {base() + end_, capacity_ - end_};
}

void ByteBuffer::consume(std::size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
}

void ByteBuffer::release_if_empty() {
    if (begin_ == end_) clear();
}

void ByteBuffer::clear() {
    heap_.reset();
    capacity_ = inline_capacity;
    begin_ = end_ = 0;
}

}  // namespace uniqguard::util
