#include "protocol/mysql/wire.hpp"

#include <cstring>

namespace uniqguard::protocol::mysql {

std::uint8_t PayloadCursor::u8() {
    auto b = bytes(1);
    return b.empty() ? 0 : b[0];
}

std::uint16_t PayloadCursor::u16() {
    auto b = bytes(2);
    return b.size() == 2 ? read_u16_le(b.data()) : 0;
}

std::uint32_t PayloadCursor::u32() {
    auto b = bytes(4);
    return b.size() == 4 ? read_u32_le(b.data()) : 0;
}

std::uint64_t PayloadCursor::lenenc_int() {
    const std::uint8_t first = u8();
    if (!ok_) return 0;
    if (first < 0xFB) return first;
    std::size_t width = 0;
    switch (first) {
        case 0xFC:
            width = 2;
            break;
        case 0xFD:
            width = 3;
            break;
        case 0xFE:
            width = 8;
            break;
        default:
            ok_ = false;
            return 0;
    }
    auto b = bytes(width);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < b.size(); ++i) v |= std::uint64_t{b[i]} << (8 * i);
    return v;
}

util::Bytes PayloadCursor::bytes(std::size_t n) {
    if (!ok_ || data_.size() - pos_ < n) {
        ok_ = false;
        return {};
    }
    auto b = data_.subspan(pos_, n);
    pos_ += n;
    return b;
}

std::string_view PayloadCursor::null_terminated() {
    if (!ok_) return {};
    const auto* begin = data_.data() + pos_;
    const auto* nul = static_cast<const std::uint8_t*>(std::memchr(begin, 0, data_.size() - pos_));
    if (nul == nullptr) {
        ok_ = false;
        return {};
    }
    const auto length = static_cast<std::size_t>(nul - begin);
    pos_ += length + 1;
    return {reinterpret_cast<const char*>(begin), length};
}

util::Bytes PayloadCursor::rest() {
    if (!ok_) return {};
    auto b = data_.subspan(pos_);
    pos_ = data_.size();
    return b;
}

void append_lenenc_int(std::string& out, std::uint64_t value) {
    std::uint8_t b[9];
    std::size_t n = 0;
    if (value < 0xFB) {
        b[n++] = static_cast<std::uint8_t>(value);
    } else {
        std::size_t width = 8;
        if (value < (1u << 16)) {
            b[n++] = 0xFC;
            width = 2;
        } else if (value < (1u << 24)) {
            b[n++] = 0xFD;
            width = 3;
        } else {
            b[n++] = 0xFE;
        }
        for (std::size_t i = 0; i < width; ++i)
            b[n++] = static_cast<std::uint8_t>(value >> (8 * i));
    }
    out.append(reinterpret_cast<const char*>(b), n);
}

}  // namespace uniqguard::protocol::mysql
