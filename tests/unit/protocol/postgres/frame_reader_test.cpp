#include "protocol/postgres/frame_reader.hpp"

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "protocol/postgres/message_writer.hpp"

using namespace uniqguard::protocol::postgres;
using uniqguard::util::as_bytes;
using uniqguard::util::Bytes;

namespace {
std::string query_message(std::string_view sql) {
    std::string out;
    MessageWriter(out).begin('Q').cstring(sql).finish();
    return out;
}

// Feeds `wire` to a reader the way a socket would deliver it: in pieces of the given sizes
// (cycled), appending to a buffer and taking every complete frame out. Returns the frames'
// (type, body) in order.
std::vector<std::pair<char, std::string>> read_in_pieces(const std::string& wire,
                                                         const std::vector<std::size_t>& pieces,
                                                         std::uint64_t max_bytes = 1 << 20) {
    std::vector<std::pair<char, std::string>> frames;
    std::string buffer;
    std::size_t fed = 0;
    std::size_t i = 0;
    while (fed < wire.size()) {
        const std::size_t n = std::min(pieces[i++ % pieces.size()], wire.size() - fed);
        buffer.append(wire, fed, n);
        fed += n;
        for (;;) {
            auto r = read_typed_frame(as_bytes(buffer), max_bytes);
            if (r.status != FrameStatus::complete) {
                REQUIRE(r.status == FrameStatus::need_more);
                REQUIRE(r.needed > buffer.size());
                break;
            }
            frames.emplace_back(r.frame.type, std::string(uniqguard::util::as_chars(r.frame.body)));
            buffer.erase(0, r.frame.wire_size);
        }
    }
    REQUIRE(buffer.empty());
    return frames;
}
}  // namespace

TEST_CASE("OneQueryMessageIsReadWhole", "[frame_reader]") {
    const auto wire = query_message("SELECT 1");
    auto r = read_typed_frame(as_bytes(wire), 1024);
    REQUIRE(r.status == FrameStatus::complete);
    CHECK(r.frame.type == 'Q');
    CHECK(r.frame.wire_size == 1 + 4 + 9);
    CHECK(std::string(uniqguard::util::as_chars(r.frame.body)) == std::string("SELECT 1\0", 9));
}

TEST_CASE("TwoMessagesInOneBuffer", "[frame_reader]") {
    const auto wire = query_message("SELECT 1") + query_message("SELECT 22");
    auto frames = read_in_pieces(wire, {wire.size()});
    REQUIRE(frames.size() == 2);
    CHECK(frames[0].second == std::string("SELECT 1\0", 9));
    CHECK(frames[1].second == std::string("SELECT 22\0", 10));
}

TEST_CASE("ShortReadsGiveTheSameFrames", "[frame_reader]") {
    std::string wire;
    for (int i = 0; i < 20; ++i) wire += query_message("SELECT " + std::to_string(i * 7919));
    std::string sync;
    MessageWriter(sync).begin('S').finish();  // empty body
    wire += sync;
    const auto whole = read_in_pieces(wire, {wire.size()});
    REQUIRE(whole.size() == 21);
    CHECK(whole.back() == std::pair<char, std::string>{'S', ""});
    // The split sizes of STYLE.md's Boost.MySQL tests: 1, 2, 1, 1, 2 bytes at a time.
    CHECK(read_in_pieces(wire, {1, 2, 1, 1, 2}) == whole);
    CHECK(read_in_pieces(wire, {3}) == whole);
    CHECK(read_in_pieces(wire, {7, 13}) == whole);
}

TEST_CASE("HeaderNeedsFiveBytes", "[frame_reader]") {
    const std::string wire("Q\0\0", 3);
    auto r = read_typed_frame(as_bytes(wire), 1024);
    CHECK(r.status == FrameStatus::need_more);
    CHECK(r.needed == 5);
}

TEST_CASE("NeedMoreReportsTheWholeFrameSize", "[frame_reader]") {
    const auto wire = query_message(std::string(100, 'x'));
    auto r = read_typed_frame(as_bytes(wire).first(50), 1024);
    CHECK(r.status == FrameStatus::need_more);
    CHECK(r.needed == wire.size());
}

TEST_CASE("LengthBelowFourIsAnError", "[frame_reader]") {
    const std::string wire("Q\0\0\0\x03", 5);
    auto r = read_typed_frame(as_bytes(wire), 1024);
    CHECK(r.status == FrameStatus::error);
    CHECK(r.error == FrameError::length_too_small);
    CHECK(r.announced_length == 3);
}

TEST_CASE("TwoGibibyteAnnouncementIsRefusedBeforeAnyBody", "[frame_reader]") {
    const std::string wire("Q\x7f\xff\xff\xff", 5);
    auto r = read_typed_frame(as_bytes(wire), 1073741824);
    CHECK(r.status == FrameStatus::error);
    CHECK(r.error == FrameError::message_too_large);
    CHECK(r.announced_length == 0x7fffffff);
}

TEST_CASE("MessageExactlyAtTheLimitIsAccepted", "[frame_reader]") {
    const auto wire = query_message(std::string(95, 'x'));  // length = 4 + 96 = 100
    CHECK(read_typed_frame(as_bytes(wire), 100).status == FrameStatus::complete);
    CHECK(read_typed_frame(as_bytes(wire), 99).error == FrameError::message_too_large);
}

TEST_CASE("StartupPacketsAreUntyped", "[frame_reader]") {
    std::string wire;
    MessageWriter(wire).begin_untyped().int32(startup_code::ssl_request).finish();
    REQUIRE(wire == std::string("\0\0\0\x08\x04\xd2\x16\x2f", 8));
    auto r = read_startup_frame(as_bytes(wire));
    REQUIRE(r.status == FrameStatus::complete);
    CHECK(r.frame.code == startup_code::ssl_request);
    CHECK(r.frame.body.empty());
    CHECK(r.frame.wire_size == 8);
}

TEST_CASE("StartupPacketLengthLimits", "[frame_reader]") {
    const std::string too_short("\0\0\0\x03\0\0\0\0", 8);
    CHECK(read_startup_frame(as_bytes(too_short)).error == FrameError::length_too_small);
    const std::string too_long("\0\0\x27\x11\0\x03\0\0", 8);  // 10001
    CHECK(read_startup_frame(as_bytes(too_long)).error == FrameError::message_too_large);
    // Judged from the first four bytes, before the code arrives.
    CHECK(read_startup_frame(as_bytes(too_short).first(4)).error == FrameError::length_too_small);
    CHECK(read_startup_frame(as_bytes(too_short).first(3)).status == FrameStatus::need_more);
    const std::string partial("\0\0\0\x10\0\x03\0\0", 8);
    auto r = read_startup_frame(as_bytes(partial));
    CHECK(r.status == FrameStatus::need_more);
    CHECK(r.needed == 16);
}

TEST_CASE("RandomBytesNeverCrashAndNeverOverrun", "[frame_reader]") {
    std::mt19937 rng(20261125);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<std::size_t> size(0, 64);
    for (int round = 0; round < 20000; ++round) {
        std::vector<std::uint8_t> data(size(rng));
        for (auto& b : data) b = static_cast<std::uint8_t>(byte(rng));
        Bytes view(data.data(), data.size());
        auto typed = read_typed_frame(view, 4096);
        if (typed.status == FrameStatus::complete) {
            CHECK(typed.frame.wire_size <= data.size());
            CHECK(typed.frame.body.size() + 5 == typed.frame.wire_size);
        }
        auto startup = read_startup_frame(view);
        if (startup.status == FrameStatus::complete) CHECK(startup.frame.wire_size <= data.size());
    }
}
