#include "util/byte_buffer.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <string>

using uniqguard::util::ByteBuffer;

TEST_CASE("EmptyBufferHoldsNoHeapMemory", "[byte_buffer]") {
    ByteBuffer b;
    CHECK_FALSE(b.on_heap());
    CHECK(b.capacity() == ByteBuffer::inline_capacity);
    auto small = b.writable(100);  // fits the inline room
    CHECK(small.size() == ByteBuffer::inline_capacity);
    CHECK_FALSE(b.on_heap());
    std::memcpy(small.data(), "abc", 3);
    b.commit(3);
    b.writable(ByteBuffer::inline_capacity);  // grows: the unread bytes go along
    CHECK(b.on_heap());
    CHECK(b.capacity() == ByteBuffer::inline_capacity + 3);
    CHECK(std::string(reinterpret_cast<const char*>(b.readable().data()), 3) == "abc");
    b.release_if_empty();
    CHECK(b.on_heap());  // not empty: kept
    b.consume(3);
    b.release_if_empty();
    CHECK_FALSE(b.on_heap());
    CHECK(b.capacity() == ByteBuffer::inline_capacity);
    CHECK(b.empty());
}

TEST_CASE("ClearDropsBytesAndHeap", "[byte_buffer]") {
    ByteBuffer b;
    auto w = b.writable(1000);
    std::memcpy(w.data(), "abc", 3);
    b.commit(3);
    b.clear();
    CHECK(b.empty());
    CHECK_FALSE(b.on_heap());
    CHECK(b.writable(1).size() == ByteBuffer::inline_capacity);
}

TEST_CASE("UnreadBytesMoveToTheFrontBeforeGrowing", "[byte_buffer]") {
    ByteBuffer b;
    auto w = b.writable(10);
    const std::size_t cap = b.capacity();
    std::memcpy(w.data(), "0123456789", 10);
    b.commit(10);
    b.consume(8);
    b.writable(cap - 2);  // fits once the two unread bytes move
    CHECK(b.capacity() == cap);
    CHECK(std::string(reinterpret_cast<const char*>(b.readable().data()), 2) == "89");
}

TEST_CASE("GrowthKeepsUnreadBytes", "[byte_buffer]") {
    ByteBuffer b;
    auto w = b.writable(4);
    std::memcpy(w.data(), "wxyz", 4);
    b.commit(4);
    b.consume(1);
    b.writable(1 << 16);
    CHECK(b.capacity() >= (1u << 16) + 3);
    CHECK(std::string(reinterpret_cast<const char*>(b.readable().data()), 3) == "xyz");
}
