#include "protocol/postgres/backend_stream.hpp"

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "protocol/postgres/message_writer.hpp"

using namespace uniqguard::protocol::postgres;
using uniqguard::util::as_bytes;
using uniqguard::util::as_chars;
using uniqguard::util::Bytes;

namespace {
// Records what the scanner reports; drops the message types in `dropped`.
struct Recorder : BackendStreamObserver {
    std::string dropped;
    std::string forwarded;
    std::vector<std::pair<char, std::string>> observed;
    std::vector<char> headers;
    MessageDisposition on_header(char type, std::uint32_t) override {
        headers.push_back(type);
        return {.forward = dropped.find(type) == std::string::npos,
                .observe = type == 'Z' || type == 'S'};
    }
    void on_message(char type, Bytes body) override {
        observed.emplace_back(type, std::string(as_chars(body)));
    }
    void on_forward(Bytes segment) override { forwarded += as_chars(segment); }
};

std::string reply_stream() {
    std::string out;
    MessageWriter w(out);
    w.begin('T')
        .int16(1)
        .cstring("x")
        .int32(0)
        .int16(0)
        .int32(23)
        .int16(4)
        .int32(0xffffffff)
        .int16(0);
    w.finish();
    w.begin('D').int16(1).int32(1).bytes("1").finish();
    w.begin('D').int16(1).int32(5000).bytes(std::string(5000, 'v')).finish();
    w.begin('C').cstring("SELECT 2").finish();
    w.begin('S').cstring("TimeZone").cstring("UTC").finish();
    w.begin('Z').int8('T').finish();
    return out;
}

Recorder feed_in_pieces(const std::string& wire, const std::vector<std::size_t>& pieces,
                        std::string dropped = "") {
    BackendStreamScanner scanner;
    Recorder rec;
    rec.dropped = std::move(dropped);
    std::size_t fed = 0, i = 0;
    while (fed < wire.size()) {
        const std::size_t n = std::min(pieces[i++ % pieces.size()], wire.size() - fed);
        // Each chunk lives in its own buffer, as socket reads into a reused buffer would.
        const std::string chunk = wire.substr(fed, n);
        REQUIRE(scanner.feed(as_bytes(chunk), rec));
        fed += n;
    }
    CHECK(scanner.at_message_boundary());
    return rec;
}
}  // namespace

TEST_CASE("AllForwardedBytesEqualTheInput", "[backend_stream]") {
    const auto wire = reply_stream();
    auto rec = feed_in_pieces(wire, {wire.size()});
    CHECK(rec.forwarded == wire);
    CHECK(rec.headers == std::vector<char>{'T', 'D', 'D', 'C', 'S', 'Z'});
    REQUIRE(rec.observed.size() == 2);
    CHECK(rec.observed[0] == std::pair<char, std::string>{'S', std::string("TimeZone\0UTC\0", 13)});
    CHECK(rec.observed[1] == std::pair<char, std::string>{'Z', "T"});
}

TEST_CASE("ShortReadsForwardTheSameBytesAndObserveTheSameMessages", "[backend_stream]") {
    const auto wire = reply_stream();
    const auto whole = feed_in_pieces(wire, {wire.size()});
    for (auto pieces :
         std::vector<std::vector<std::size_t>>{{1}, {1, 2, 1, 1, 2}, {3}, {4096}, {6, 1}}) {
        auto rec = feed_in_pieces(wire, pieces);
        CHECK(rec.forwarded == wire);
        CHECK(rec.observed == whole.observed);
    }
}

TEST_CASE("DroppedMessagesNeverReachTheClient", "[backend_stream]") {
    const auto wire = reply_stream();
    for (auto pieces : std::vector<std::vector<std::size_t>>{{wire.size()}, {1}, {2, 3}}) {
        auto rec = feed_in_pieces(wire, pieces, "D");
        // Expected: the stream without the two DataRows.
        std::string expected;
        std::size_t pos = 0;
        while (pos < wire.size()) {
            const std::uint32_t len = uniqguard::util::read_u32_be(
                reinterpret_cast<const std::uint8_t*>(wire.data() + pos + 1));
            if (wire[pos] != 'D') expected += wire.substr(pos, len + 1);
            pos += len + 1;
        }
        CHECK(rec.forwarded == expected);
    }
}

TEST_CASE("ZeroLengthBodiesAreObserved", "[backend_stream]") {
    std::string wire;
    MessageWriter(wire).begin('S').finish();  // malformed as ParameterStatus, but legal framing
    auto rec = feed_in_pieces(wire, {1});
    REQUIRE(rec.observed.size() == 1);
    CHECK(rec.observed[0].second.empty());
}

TEST_CASE("LengthBelowFourStopsTheStream", "[backend_stream]") {
    BackendStreamScanner scanner;
    Recorder rec;
    const std::string bad("Z\0\0\0\x02", 5);
    CHECK_FALSE(scanner.feed(as_bytes(bad), rec));
}

TEST_CASE("OversizedObservedMessageStopsTheStream", "[backend_stream]") {
    BackendStreamScanner scanner;
    Recorder rec;
    const std::string huge("S\x7f\0\0\0", 5);
    CHECK_FALSE(scanner.feed(as_bytes(huge), rec));
}

TEST_CASE("RandomChunkingOfRandomStreamsForwardsEverything", "[backend_stream]") {
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> type_pick(0, 5), len(0, 300), piece(1, 64);
    const char types[] = {'D', 'C', 'Z', 'S', 'N', 'A'};
    for (int round = 0; round < 200; ++round) {
        std::string wire;
        for (int m = 0; m < 30; ++m) {
            MessageWriter(wire)
                .begin(types[type_pick(rng)])
                .bytes(std::string(len(rng), 'p'))
                .finish();
        }
        std::vector<std::size_t> pieces;
        for (int k = 0; k < 16; ++k) pieces.push_back(piece(rng));
        CHECK(feed_in_pieces(wire, pieces).forwarded == wire);
    }
}
