#include "protocol/postgres/row_last_column.hpp"

#include <cstdint>
#include <cstring>
#include <vector>

namespace uniqguard::protocol::postgres {

namespace {
// Walks the body's columns (`column_end` gives where the one at an offset ends, 0 if it does
// not fit), then writes `type`, length, the smaller count and the columns kept.
template <class ColumnEnd>
std::optional<std::string> without_last(char type, util::Bytes body, std::size_t count,
                                        ColumnEnd column_end) {
    if (body.size() < 2) return std::nullopt;
    const std::uint16_t columns = util::read_u16_be(body.data());
    if (count == 0 || count > columns) return std::nullopt;
    std::vector<std::size_t> starts;
    std::size_t at = 2;
    for (std::uint16_t i = 0; i < columns; ++i) {
        starts.push_back(at);
        at = column_end(at);
        if (at == 0 || at > body.size()) return std::nullopt;
    }
    if (at != body.size()) return std::nullopt;
    const std::size_t kept = starts[columns - count] - 2;
    const auto left = static_cast<std::uint16_t>(columns - count);
    std::string out;
    out.push_back(type);
    std::uint8_t length[4];
    util::write_u32_be(length, static_cast<std::uint32_t>(4 + 2 + kept));
    out.append(reinterpret_cast<const char*>(length), 4);
    out.push_back(static_cast<char>(left >> 8));
    out.push_back(static_cast<char>(left & 0xff));
    out.append(util::as_chars(body.subspan(2, kept)));
    return out;
}
}  // namespace

std::optional<std::string> row_description_without_last(util::Bytes body, std::size_t count) {
    return without_last('T', body, count, [&](std::size_t at) -> std::size_t {
        const void* nul = std::memchr(body.data() + at, 0, body.size() - at);
        if (!nul) return 0;
        // the name's NUL, then table, attnum, type, typlen, typmod, format
        return static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - body.data()) + 1 +
               4 + 2 + 4 + 2 + 4 + 2;
    });
}

std::optional<std::string> data_row_without_last(util::Bytes body, std::size_t count) {
    return without_last('D', body, count, [&](std::size_t at) -> std::size_t {
        if (at + 4 > body.size()) return 0;
        const auto length = static_cast<std::int32_t>(util::read_u32_be(body.data() + at));
        return at + 4 + (length > 0 ? static_cast<std::size_t>(length) : 0);
    });
}

}  // namespace uniqguard::protocol::postgres
