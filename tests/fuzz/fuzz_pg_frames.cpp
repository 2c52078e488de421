// Fuzzes every PostgreSQL frame reader and decoder with the same bytes: the typed and startup
// frame readers walking a whole buffer, the streaming scanner fed in chunks whose sizes come
// from the input, the message decoders on every frame body found, and the SCRAM server
// (listen.auth = "terminate") on the input read as a client-first and a client-final message.
#include <cstddef>
#include <cstdint>
#include <string>

#include "protocol/postgres/auth.hpp"
#include "protocol/postgres/backend_stream.hpp"
#include "protocol/postgres/frame_reader.hpp"
#include "protocol/postgres/scram_server.hpp"
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

// The client's two SCRAM messages are the input split at its first NUL; the first byte picks
// the mechanism and whether the client connection is TLS (binding data present).
void fuzz_scram_server(std::string_view input) {
    static const auto verifier = scram::parse_verifier(
        "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
        "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=");
    if (!verifier || input.empty()) return;
    const char selector = input[0];
    input.remove_prefix(1);
    const auto nul = input.find('\0');
    const std::string_view first = input.substr(0, nul);
    const std::string_view final_message =
        nul == std::string_view::npos ? std::string_view{} : input.substr(nul + 1);
    const bool tls = (selector & 1) != 0;
    ScramServer server(selector & 2 ? std::nullopt : verifier, "user",
                       tls ? std::string(32, '\x5c') : std::string{}, "SRV");
    const auto step =
        server.handle_client_first(selector & 4 ? "SCRAM-SHA-256-PLUS" : "SCRAM-SHA-256", first);
    if (!step.ok()) return;
    const auto last = server.handle_client_final(final_message);
    // A failure never carries a message, and a success only with the right proof.
    if (!last.ok() && !last.message.empty()) __builtin_trap();
    if (last.ok() && !server.authenticated()) __builtin_trap();
}
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

    fuzz_scram_server({reinterpret_cast<const char*>(data), size});
    return 0;
}
