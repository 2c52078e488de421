// Fuzzes every PostgreSQL frame reader and decoder with the same bytes: the typed and startup
// frame readers walking a whole buffer, the streaming scanner fed in chunks whose sizes come
// from the input, and the message decoders on every frame body found.
#include <cstddef>
#include <cstdint>
#include <string>

#include "protocol/postgres/auth.hpp"
#include "protocol/postgres/backend_stream.hpp"
#include "protocol/postgres/frame_reader.hpp"
#include "protocol/postgres/startup.hpp"

using namespace uniqguard::protocol::postgres;
using uniqguard::util::Bytes;

namespace {
struct CountingObserver : BackendStreamObserver {
    std::size_t forwarded = 0;
    bool flip = false;
    MessageDisposition on_header(char, std::uint32_t) override {
        flip = !flip;
        return {.forward = flip, .observe = true};
    }
    void on_message(char, Bytes body) override {
        decode_sasl_mechanisms(body);
        decode_startup_parameters(body);
    }
    void on_forward(Bytes segment) override { forwarded += segment.size(); }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const Bytes all(data, size);

    Bytes rest = all;
    while (!rest.empty()) {
        auto r = read_typed_frame(rest, 1 << 16);
        if (r.status != FrameStatus::complete) break;
        if (r.frame.wire_size > rest.size()) __builtin_trap();
        authentication_code(r.frame.body);
        decode_sasl_mechanisms(r.frame.body);
        decode_sasl_initial_response(r.frame.body);
        decode_cancel_key(r.frame.body);
        rest = rest.subspan(r.frame.wire_size);
    }

    if (auto r = read_startup_frame(all); r.status == FrameStatus::complete)
        decode_startup_parameters(r.frame.body);

    // Chunk sizes from the first byte, so the fuzzer explores splits too.
    const std::size_t chunk = size > 0 ? 1 + data[0] % 17 : 1;
    BackendStreamScanner scanner;
    CountingObserver observer;
    for (std::size_t pos = 0; pos < size; pos += chunk) {
        const std::string copy(reinterpret_cast<const char*>(data) + pos,
                               std::min(chunk, size - pos));
        if (!scanner.feed({reinterpret_cast<const std::uint8_t*>(copy.data()), copy.size()},
                          observer))
            break;
    }
    if (observer.forwarded > size) __builtin_trap();
    return 0;
}
