#include "protocol/postgres/startup.hpp"

#include <cstring>

#include "protocol/postgres/message_codes.hpp"
#include "protocol/postgres/message_writer.hpp"

namespace uniqguard::protocol::postgres {

std::string_view StartupParameters::get(std::string_view name) const {
    for (const auto& [k, v] : items)
        if (k == name) return v;
    return {};
}

namespace {
// Reads a NUL-terminated string at `pos`; nullopt when no NUL follows.
std::optional<std::string_view> read_cstring(util::Bytes body, std::size_t& pos) {
    const auto* start = body.data() + pos;
    const auto* nul = static_cast<const std::uint8_t*>(std::memchr(start, 0, body.size() - pos));
    if (nul == nullptr) return std::nullopt;
    std::string_view s(reinterpret_cast<const char*>(start), static_cast<std::size_t>(nul - start));
    pos += s.size() + 1;
    return s;
}
}  // namespace

std::optional<StartupParameters> decode_startup_parameters(util::Bytes body) {
    StartupParameters params;
    std::size_t pos = 0;
    while (pos < body.size()) {
        auto name = read_cstring(body, pos);
        if (!name) return std::nullopt;
        if (name->empty()) {
            // The terminator must be the last byte.
            if (pos != body.size()) return std::nullopt;
            return params;
        }
        auto value = read_cstring(body, pos);
        if (!value) return std::nullopt;
        params.items.emplace_back(std::string(*name), std::string(*value));
    }
    return std::nullopt;  // no terminating empty name
}

std::optional<CancelKey> decode_cancel_key(util::Bytes body) {
    if (body.size() != 8) return std::nullopt;
    return CancelKey{util::read_u32_be(body.data()), util::read_u32_be(body.data() + 4)};
}

std::string encode_cancel_request(const CancelKey& key) {
    std::string out;
    MessageWriter w(out);
    w.begin_untyped()
        .int32(startup_code::cancel_request)
        .int32(key.process_id)
        .int32(key.secret_key);
    w.finish();
    return out;
}

std::string encode_ssl_request() {
    std::string out;
    MessageWriter w(out);
    w.begin_untyped().int32(startup_code::ssl_request);
    w.finish();
    return out;
}

}  // namespace uniqguard::protocol::postgres
