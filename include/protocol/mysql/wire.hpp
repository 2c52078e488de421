// Little-endian integers and length-encoded values of MySQL protocol 10. Every multi-byte
// integer on this protocol is little-endian, unlike PostgreSQL's (util/bytes.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/bytes.hpp"

namespace uniqguard::protocol::mysql {

inline std::uint16_t read_u16_le(const std::uint8_t* p) {
    return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
inline std::uint32_t read_u24_le(const std::uint8_t* p) {
    return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16);
}
inline std::uint32_t read_u32_le(const std::uint8_t* p) {
    return read_u24_le(p) | (std::uint32_t{p[3]} << 24);
}
inline void write_u16_le(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v);
    p[1] = static_cast<std::uint8_t>(v >> 8);
}
inline void write_u24_le(std::uint8_t* p, std::uint32_t v) {
    p[0] = static_cast<std::uint8_t>(v);
    p[1] = static_cast<std::uint8_t>(v >> 8);
    p[2] = static_cast<std::uint8_t>(v >> 16);
}
inline void write_u32_le(std::uint8_t* p, std::uint32_t v) {
    write_u24_le(p, v);
    p[3] = static_cast<std::uint8_t>(v >> 24);
}

// A cursor over a payload for the few decoders that need one. Every read checks the bounds and
// turns the cursor invalid instead of reading past the end, so a decoder reads its fields in
// order and checks ok() once at the end.
class PayloadCursor {
  public:
    explicit PayloadCursor(util::Bytes payload) : data_(payload) {}

    bool ok() const { return ok_; }
    std::size_t position() const { return pos_; }
    std::size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }

    std::uint8_t u8();
    std::uint16_t u16();
    std::uint32_t u32();
    // Length-encoded integer: < 0xFB itself, 0xFC + 2 bytes, 0xFD + 3, 0xFE + 8. 0xFB (NULL) and
    // 0xFF are not integers: the cursor turns invalid.
    std::uint64_t lenenc_int();
    util::Bytes bytes(std::size_t n);
    // Up to the next NUL (not included; the NUL is consumed). Invalid when there is none.
    std::string_view null_terminated();
    // The rest of the payload.
    util::Bytes rest();
    void skip(std::size_t n) { bytes(n); }

  private:
    util::Bytes data_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

void append_lenenc_int(std::string& out, std::uint64_t value);

}  // namespace uniqguard::protocol::mysql
