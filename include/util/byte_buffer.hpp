// A read buffer that holds no memory while it is empty: an idle session costs its sockets and
// little else. Storage is allocated when bytes arrive and grows only to what one message needs,
// which the frame reader has already checked against the configured maximum.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "util/bytes.hpp"

namespace uniqguard::util {

class ByteBuffer {
public:
    Bytes readable() const { return {data_.get() + begin_, end_ - begin_}; }
    std::size_t size() const { return end_ - begin_; }
    bool empty() const { return begin_ == end_; }
    std::size_t capacity() const { return capacity_; }

    // Room for at least `min_free` more bytes (and at most what fits after growing to
    // `min_free` + size()). Moves unread bytes to the front rather than growing when it can.
    std::span<std::uint8_t> writable(std::size_t min_free);
    void commit(std::size_t n) { end_ += n; }
    void consume(std::size_t n);
    // Frees the storage when nothing is buffered.
    void release_if_empty();

private:
    std::unique_ptr<std::uint8_t[]> data_;
    std::size_t capacity_ = 0;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
};

}  // namespace uniqguard::util
