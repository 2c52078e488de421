// Fuzzes the MySQL sans-io code with the same bytes: the packet reader walking a whole buffer
// (and joining split payloads), the handshake decoders and the authentication relay on every
// payload found, and the packet scanner feeding the command tracker in chunks whose sizes come
// from the input, with client commands taken from the same payloads; every payload is also
// decoded as a COM_STMT_EXECUTE (protocol/mysql/stmt_execute.hpp), and the whole input is read as
// the reply to the guard's own query (protocol/mysql/value_reply.hpp) in the same chunks.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "protocol/mysql/auth_relay.hpp"
#include "protocol/mysql/capabilities.hpp"
#include "protocol/mysql/command_tracker.hpp"
#include "protocol/mysql/handshake.hpp"
#include "protocol/mysql/packet_reader.hpp"
#include "protocol/mysql/packet_scanner.hpp"
#include "protocol/mysql/stmt_execute.hpp"
#include "protocol/mysql/value_reply.hpp"

using namespace uniqguard::protocol::mysql;
using uniqguard::util::Bytes;

namespace {
struct TrackingObserver : PacketObserver {
    explicit TrackingObserver(CommandTracker& t) : tracker(t) {}
    void on_packet(std::uint8_t, const ServerPacketHead& packet) override {
        if (packet.head.size() > CommandTracker::head_bytes) __builtin_trap();
        tracker.on_server_packet(packet);
    }
    CommandTracker& tracker;
};
// COM_STMT_EXECUTE with a parameter count, earlier types and long-data flags taken from the
// input: every value decoded lies inside the payload.
void fuzz_stmt_execute(Bytes payload, std::uint8_t selector) {
    const std::uint16_t count = selector % 9;
    std::vector<ParamType> previous;
    if (selector & 0x10)
        for (std::uint16_t i = 0; i < count; ++i)
            previous.push_back({static_cast<std::uint8_t>(i * 37 + selector), (i & 1) != 0});
    std::vector<bool> long_data;
    for (std::uint16_t i = 0; i < count; ++i) long_data.push_back((selector >> (i % 8)) & 0x20);
    std::string error;
    const auto e = decode_stmt_execute(payload, count, previous, long_data, error);
    if (!e) {
        if (error.empty()) __builtin_trap();
        return;
    }
    if (e->params.size() != count) __builtin_trap();
    for (const auto& param : e->params) {
        if (param.value.empty()) continue;
        if (param.value.data() < payload.data() ||
            param.value.data() + param.value.size() > payload.data() + payload.size())
            __builtin_trap();
    }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const Bytes all(data, size);
    const std::uint64_t caps = size > 1 && (data[1] & 1) ? capability::deprecate_eof : 0;
    CommandTracker tracker(caps);
    AuthRelay relay(std::string(caching_sha2_password), "01234567890123456789", size % 2 == 0,
                    size % 3 == 0);

    Bytes rest = all;
    while (!rest.empty()) {
        auto r = read_packet(rest, 1 << 16);
        if (r.status != PacketStatus::complete) break;
        if (r.packet.wire_size > rest.size()) __builtin_trap();
        const std::string payload = join_payload(r.packet);
        if (payload.size() != r.packet.payload_size) __builtin_trap();
        const Bytes p(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size());
        if (auto hs = decode_server_handshake(p))
            rewrite_server_handshake(p, *hs,
                                     capabilities_offered_to_client(hs->capabilities, true));
        if (auto ch = decode_client_handshake(p); ch && !ch->ssl_request)
            rewrite_client_handshake(p, *ch, ch->capabilities);
        relay.on_server_packet(p);
        relay.on_client_packet(p);
        tracker.on_client_packet(p);
        parse_use_statement(uniqguard::util::as_chars(p));
        fuzz_stmt_execute(p, size > 2 ? data[2] : 0);
        rest = rest.subspan(r.packet.wire_size);
    }

    const std::size_t chunk = size > 0 ? 1 + data[0] % 17 : 1;
    PacketScanner scanner;
    TrackingObserver observer(tracker);
    ValueReplyReader reply(caps != 0);
    std::string pending;  // as the session keeps the unfinished packet of the reply
    for (std::size_t pos = 0; pos < size; pos += chunk) {
        const std::string copy(reinterpret_cast<const char*>(data) + pos,
                               std::min(chunk, size - pos));
        scanner.feed({reinterpret_cast<const std::uint8_t*>(copy.data()), copy.size()}, observer);
        pending += copy;
        const std::size_t used = reply.feed(uniqguard::util::as_bytes(pending));
        if (used > pending.size()) __builtin_trap();
        pending.erase(0, used);
    }
    return 0;
}
