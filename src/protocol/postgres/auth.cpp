#include "protocol/postgres/auth.hpp"

#include <cstring>

#include "protocol/postgres/message_codes.hpp"
#include "protocol/postgres/message_writer.hpp"

namespace uniqguard::protocol::postgres {

std::optional<std::uint32_t> authentication_code(util::Bytes body) {
    if (body.size() < 4) return std::nullopt;
    return util::read_u32_be(body.data());
}

std::optional<std::vector<std::string>> decode_sasl_mechanisms(util::Bytes body) {
    if (body.size() < 4) return std::nullopt;
    std::vector<std::string> mechanisms;
    std::size_t pos = 4;
    while (pos < body.size()) {
        const auto* start = body.data() + pos;
        const void* nul = std::memchr(start, 0, body.size() - pos);
        if (nul == nullptr) return std::nullopt;
        const auto len = static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - start);
        if (len == 0) return pos + 1 == body.size() ? std::optional(mechanisms) : std::nullopt;
        mechanisms.emplace_back(reinterpret_cast<const char*>(start), len);
        pos += len + 1;
    }
    return std::nullopt;  // the list must end with an empty name
}

std::string encode_authentication_sasl(const std::vector<std::string>& mechanisms) {
    std::string out;
    MessageWriter w(out);
    w.begin(static_cast<char>(BackendCode::authentication)).int32(auth_code::sasl);
    for (const auto& m : mechanisms) w.cstring(m);
    w.int8(0);
    w.finish();
    return out;
}

std::optional<SaslInitialResponse> decode_sasl_initial_response(util::Bytes body) {
    const void* nul = std::memchr(body.data(), 0, body.size());
    if (nul == nullptr) return std::nullopt;
    SaslInitialResponse r;
    r.mechanism.assign(
        reinterpret_cast<const char*>(body.data()),
        static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - body.data()));
    std::size_t pos = r.mechanism.size() + 1;
    if (body.size() < pos + 4) return std::nullopt;
    const std::uint32_t len = util::read_u32_be(body.data() + pos);
    pos += 4;
    // -1 means "no initial response": legal, but SCRAM always sends one.
    // Bytes after the response are refused as the server refuses them (pq_getmsgend: "invalid
    // message format").
    if (len == 0xffffffffu || len == 0 || body.size() - pos != len) return std::nullopt;
    r.gs2_flag = static_cast<char>(body[pos]);
    r.data = body.subspan(pos, len);
    return r;
}

namespace {
std::string authentication_with_data(std::uint32_t code, std::string_view data) {
    std::string out;
    MessageWriter w(out);
    w.begin(static_cast<char>(BackendCode::authentication)).int32(code).bytes(data);
    w.finish();
    return out;
}
}  // namespace

std::string encode_authentication_sasl_continue(std::string_view data) {
    return authentication_with_data(auth_code::sasl_continue, data);
}

std::string encode_authentication_sasl_final(std::string_view data) {
    return authentication_with_data(auth_code::sasl_final, data);
}

}  // namespace uniqguard::protocol::postgres
