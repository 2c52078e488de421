#include "protocol/mysql/packet_reader.hpp"

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "protocol/mysql/packet_writer.hpp"

using namespace uniqguard::protocol::mysql;
using uniqguard::util::as_bytes;
using uniqguard::util::as_chars;

namespace {
// Feeds `wire` in pieces of the given sizes (cycled) and takes every whole packet out; returns
// the payloads in order.
std::vector<std::string> read_in_pieces(const std::string& wire,
                                        const std::vector<std::size_t>& pieces,
                                        std::uint64_t max_bytes = 64 << 20) {
    std::vector<std::string> payloads;
    std::string buffer;
    std::size_t fed = 0;
    std::size_t i = 0;
    while (fed < wire.size()) {
        const std::size_t n = std::min(pieces[i++ % pieces.size()], wire.size() - fed);
        buffer.append(wire, fed, n);
        fed += n;
        for (;;) {
            auto r = read_packet(as_bytes(buffer), max_bytes);
            if (r.status != PacketStatus::complete) {
                REQUIRE(r.status == PacketStatus::need_more);
                REQUIRE(r.needed > buffer.size());
                break;
            }
            payloads.push_back(join_payload(r.packet));
            buffer.erase(0, r.packet.wire_size);
        }
    }
    REQUIRE(buffer.empty());
    return payloads;
}

std::string packet(std::uint8_t sequence, std::string_view payload) {
    std::string out;
    append_packet(out, sequence, payload);
    return out;
}
}  // namespace

TEST_CASE("ComPingIsOneFrameWithItsExactBytes", "[mysql][packet_reader]") {
    const std::string wire = packet(0, "\x0e");
    CHECK(wire == std::string("\x01\x00\x00\x00\x0e", 5));
    auto r = read_packet(as_bytes(wire), 1024);
    REQUIRE(r.status == PacketStatus::complete);
    CHECK(r.packet.first_sequence == 0);
    CHECK(r.packet.last_sequence == 0);
    CHECK(r.packet.frames == 1);
    CHECK(r.packet.wire_size == 5);
    CHECK(as_chars(r.packet.first_payload) == "\x0e");
}

TEST_CASE("TwoPacketsInOneBuffer", "[mysql][packet_reader]") {
    const std::string wire =
        packet(0, "\x03SELECT 1") + packet(0, std::string("\x19\x01\x00\x00\x00", 5));
    const auto payloads = read_in_pieces(wire, {wire.size()});
    REQUIRE(payloads.size() == 2);
    CHECK(payloads[0] == "\x03SELECT 1");
    CHECK(payloads[1] == std::string("\x19\x01\x00\x00\x00", 5));
}

TEST_CASE("ShortReadsGiveTheSamePackets", "[mysql][packet_reader]") {
    std::string wire;
    for (int i = 0; i < 20; ++i) wire += packet(0, "\x03SELECT " + std::to_string(i * 7919));
    wire += packet(3, "");  // the empty packet that ends a LOAD DATA LOCAL file
    const auto whole = read_in_pieces(wire, {wire.size()});
    REQUIRE(whole.size() == 21);
    CHECK(whole.back().empty());
    CHECK(read_in_pieces(wire, {1, 2, 1, 1, 2}) == whole);
    CHECK(read_in_pieces(wire, {3}) == whole);
}

TEST_CASE("PayloadOfExactlyOneFullFrameEndsWithAnEmptyFrame", "[mysql][packet_reader]") {
    const std::string payload(max_frame_payload, 'x');
    const std::string wire = packet(0, payload);
    REQUIRE(wire.size() == 4 + max_frame_payload + 4);
    CHECK(wire.substr(0, 4) == std::string("\xff\xff\xff\x00", 4));
    CHECK(wire.substr(4 + max_frame_payload) == std::string("\x00\x00\x00\x01", 4));
    auto r = read_packet(as_bytes(wire), 64 << 20);
    REQUIRE(r.status == PacketStatus::complete);
    CHECK(r.packet.frames == 2);
    CHECK(r.packet.last_sequence == 1);
    CHECK(r.packet.payload_size == max_frame_payload);
    CHECK(join_payload(r.packet) == payload);
}

TEST_CASE("TwentyMegabytePayloadIsSplitAndJoined", "[mysql][packet_reader]") {
    std::string payload(20 << 20, '\0');
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 31);
    const std::string wire = packet(0, payload);
    // 16 MiB - 1 in the first frame, the rest in the second (sequence 1).
    REQUIRE(wire.size() == payload.size() + 8);
    const std::size_t second = 4 + max_frame_payload;
    CHECK(static_cast<std::uint8_t>(wire[second + 3]) == 1);
    CHECK((static_cast<std::uint8_t>(wire[second]) |
           static_cast<std::uint8_t>(wire[second + 1]) << 8 |
           static_cast<std::uint8_t>(wire[second + 2]) << 16) ==
          static_cast<int>(payload.size() - max_frame_payload));
    const auto payloads = read_in_pieces(wire, {1 << 20, 12345});
    REQUIRE(payloads.size() == 1);
    CHECK(payloads[0] == payload);
}

TEST_CASE("OversizedPacketIsRefusedFromItsHeaderAlone", "[mysql][packet_reader]") {
    // A header announcing 16 MiB - 1 with a 1 MiB limit: refused before any payload arrives.
    const std::string header("\xff\xff\xff\x00", 4);
    auto r = read_packet(as_bytes(header), 1 << 20);
    REQUIRE(r.status == PacketStatus::error);
    CHECK(r.error == PacketError::too_large);
    CHECK(r.announced_bytes == max_frame_payload);
    // At the limit exactly: accepted (needs its payload).
    const std::string at_limit("\x00\x00\x10\x00", 4);
    auto ok = read_packet(as_bytes(at_limit), 1 << 20);
    CHECK(ok.status == PacketStatus::need_more);
    CHECK(ok.needed == 4 + (1 << 20));
}

TEST_CASE("LimitCountsEveryFrameOfAPacket", "[mysql][packet_reader]") {
    std::string wire = packet(0, std::string(max_frame_payload + 10, 'a'));
    auto r = read_packet(as_bytes(wire), max_frame_payload + 9);
    REQUIRE(r.status == PacketStatus::error);
    CHECK(r.error == PacketError::too_large);
    CHECK(r.announced_bytes == max_frame_payload + 10);
}

TEST_CASE("ContinuationFrameOutOfOrderIsAnError", "[mysql][packet_reader]") {
    std::string wire = packet(0, std::string(max_frame_payload + 3, 'a'));
    wire[4 + max_frame_payload + 3] = 7;  // the second frame should be sequence 1
    auto r = read_packet(as_bytes(wire), 64 << 20);
    REQUIRE(r.status == PacketStatus::error);
    CHECK(r.error == PacketError::out_of_order);
}

TEST_CASE("RandomBytesNeverCrashTheReader", "[mysql][packet_reader]") {
    std::mt19937 rng(5);
    for (int round = 0; round < 2000; ++round) {
        std::string bytes(rng() % 64, '\0');
        for (auto& c : bytes) c = static_cast<char>(rng());
        auto r = read_packet(as_bytes(bytes), 1 << 10);
        if (r.status == PacketStatus::complete) {
            CHECK(r.packet.wire_size <= bytes.size());
        } else if (r.status == PacketStatus::need_more) {
            CHECK(r.needed > bytes.size());
            CHECK(r.needed <= 4 + (1 << 10) + 4);
        }
    }
}

TEST_CASE("ErrPacketHasTheServersLayout", "[mysql][packet_writer]") {
    const std::string payload =
        err_payload({.code = 1153,
                     .sqlstate = "08S01",
                     .message = "Got a packet bigger than 'max_allowed_packet' bytes"});
    CHECK(payload ==
          std::string("\xff\x81\x04#08S01Got a packet bigger than 'max_allowed_packet' bytes"));
    std::string wire;
    CHECK(append_packet(wire, 1, payload) == 2);
    CHECK(wire.substr(0, 4) == std::string("\x3c\x00\x00\x01", 4));
}
