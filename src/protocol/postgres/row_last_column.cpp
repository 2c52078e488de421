#include "protocol/postgres/row_last_column.hpp"

#include <cstdint>
#include <cstring>

namespace uniqguard::protocol::postgres {

namespace {
// `type`, length, the field count less one, then `kept` bytes of the body after the count.
std::string rebuild(char type, util::Bytes body, std::uint16_t count, std::size_t kept) {
    std::string out;
    out.push_back(type);
    std::uint8_t length[4];
    util::write_u32_be(length, static_cast<std::uint32_t>(4 + 2 + kept));
    out.append(reinterpret_cast<const char*>(length), 4);
    out.push_back(static_cast<char>((count - 1) >> 8));
    out.push_back(static_cast<char>((count - 1) & 0xff));
    out.append(util::as_chars(body.subspan(2, kept)));
    return out;
}
}  // namespace

std::optional<std::string> row_description_without_last(util::Bytes body) {
    if (body.size() < 2) return std::nullopt;
    const std::uint16_t count = util::read_u16_be(body.data());
    if (count == 0) return std::nullopt;
    std::size_t at = 2, last = 2;
    for (std::uint16_t i = 0; i < count; ++i) {
        last = at;
        const void* nul = std::memchr(body.data() + at, 0, body.size() - at);
        if (!nul) return std::nullopt;
        at = static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - body.data()) + 1;
        at += 4 + 2 + 4 + 2 + 4 + 2;  // table, attnum, type, typlen, typmod, format
        if (at > body.size()) return std::nullopt;
    }
    if (at != body.size()) return std::nullopt;
    return rebuild('T', body, count, last - 2);
}

std::optional<std::string> data_row_without_last(util::Bytes body) {
    if (body.size() < 2) return std::nullopt;
    const std::uint16_t count = util::read_u16_be(body.data());
    if (count == 0) return std::nullopt;
    std::size_t at = 2, last = 2;
    for (std::uint16_t i = 0; i < count; ++i) {
        last = at;
        if (at + 4 > body.size()) return std::nullopt;
        const auto length = static_cast<std::int32_t>(util::read_u32_be(body.data() + at));
        at += 4;
        if (length > 0) at += static_cast<std::size_t>(length);
        if (at > body.size()) return std::nullopt;
    }
    if (at != body.size()) return std::nullopt;
    return rebuild('D', body, count, last - 2);
}

}  // namespace uniqguard::protocol::postgres
