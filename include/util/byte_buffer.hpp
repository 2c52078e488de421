// A read buffer that holds no heap memory while it is empty: an idle session costs its sockets, a
// small inline room and little else. Storage grows only to what one message needs, which the
// frame reader has already checked against the configured maximum.
//
// The inline room is where an idle pump reads the next message, in one asynchronous read (no
// readiness wait first, which re-arms the socket in epoll, then a read of its own): most requests
// and replies of OLTP traffic fit in it, so no heap block is taken and freed per message.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "util/bytes.hpp"

namespace uniqguard::util {

class ByteBuffer {
  public:
    static constexpr std::size_t inline_capacity = 256;

    ByteBuffer() = default;
    // Not copied or moved: the inline room would move under pointers into it.
    ByteBuffer(const ByteBuffer&) = delete;
    ByteBuffer& operator=(const ByteBuffer&) = delete;

    Bytes readable() const { return {base() + begin_, end_ - begin_}; }
    std::size_t size() const { return end_ - begin_; }
    bool empty() const { return begin_ == end_; }
    std::size_t capacity() const { return capacity_; }
    // True while the bytes live on the heap (a message larger than the inline room).
    bool on_heap() const { return heap_ != nullptr; }

    // Room for at least `min_free` more bytes (and at most what fits after growing to
    // `min_free` + size()). Moves unread bytes to the front rather than growing when it can.
    std::span<std::uint8_t> writable(std::size_t min_free);
    void commit(std::size_t n) { end_ += n; }
    void consume(std::size_t n);
    // Frees the heap storage when nothing is buffered (the inline room remains).
    void release_if_empty();
    // Drops every byte and the heap storage.
    void clear();

  private:
    std::uint8_t* base() { return heap_ ? heap_.get() : inline_.data(); }
    const std::uint8_t* base() const { return heap_ ? heap_.get() : inline_.data(); }

    std::unique_ptr<std::uint8_t[]> heap_;
    std::size_t capacity_ = inline_capacity;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
    std::array<std::uint8_t, inline_capacity> inline_;
};

}  // namespace uniqguard::util
