#include "protocol/mysql/value_reply.hpp"

#include "protocol/mysql/packet_reader.hpp"
#include "protocol/mysql/wire.hpp"

namespace uniqguard::protocol::mysql {

namespace {
constexpr std::uint8_t ok_header = 0x00;
constexpr std::uint8_t eof_header = 0xFE;
constexpr std::uint8_t err_header = 0xFF;
constexpr std::uint8_t null_value = 0xFB;
// The check's reply is small (one character per key); anything larger is not it.
constexpr std::uint64_t max_reply_packet = 64 << 20;
// An EOF packet, or with CLIENT_DEPRECATE_EOF an OK with the EOF header: a 0xFE packet shorter
// than 9 bytes (a row starting with 0xFE is a length of 8 bytes or more).
bool is_terminator(util::Bytes payload) {
    return !payload.empty() && payload[0] == eof_header && payload.size() < 9;
}
}  // namespace

std::size_t ValueReplyReader::feed(util::Bytes data) {
    std::size_t used = 0;
    while (status_ == Status::need_more) {
        auto r = read_packet(data.subspan(used), max_reply_packet);
        if (r.status == PacketStatus::need_more) break;
        if (r.status == PacketStatus::error) {
            status_ = Status::malformed;
            break;
        }
        const std::string joined = r.packet.frames == 1 ? std::string() : join_payload(r.packet);
        on_packet(r.packet.frames == 1 ? r.packet.first_payload : util::as_bytes(joined));
        used += r.packet.wire_size;
    }
    return used;
}

void ValueReplyReader::on_packet(util::Bytes payload) {
    if (payload.empty()) {
        status_ = Status::malformed;
        return;
    }
    if (payload[0] == err_header && phase_ != Phase::definitions) {
        PayloadCursor c(payload);
        c.u8();
        error_code_ = c.u16();
        auto rest = c.rest();
        // '#' and the five characters of the SQLSTATE precede the message (protocol 4.1).
        if (!rest.empty() && rest[0] == '#' && rest.size() >= 6) {
            error_sqlstate_.assign(reinterpret_cast<const char*>(rest.data()) + 1, 5);
            rest = rest.subspan(6);
        }
        error_message_.assign(reinterpret_cast<const char*>(rest.data()), rest.size());
        if (error_code_ == 0) error_code_ = 0xFFFF;  // never "no error"
        status_ = c.ok() ? Status::done : Status::malformed;
        return;
    }
    switch (phase_) {
        case Phase::first: {
            if (payload[0] == ok_header) {
                status_ = Status::done;
                return;
            }
            PayloadCursor c(payload);
            columns_left_ = c.lenenc_int();
            if (!c.ok() || columns_left_ == 0) {
                status_ = Status::malformed;
                return;
            }
            phase_ = Phase::definitions;
            return;
        }
        case Phase::definitions:
            if (--columns_left_ == 0)
                phase_ = deprecate_eof_ ? Phase::rows : Phase::definitions_eof;
            return;
        case Phase::definitions_eof:
            if (!is_terminator(payload)) status_ = Status::malformed;
            phase_ = Phase::rows;
            return;
        case Phase::rows: {
            if (is_terminator(payload)) {
                status_ = Status::done;
                return;
            }
            if (have_row_) return;
            have_row_ = true;
            if (payload[0] == null_value) return;  // value_ stays nullopt
            PayloadCursor c(payload);
            const std::uint64_t n = c.lenenc_int();
            const auto bytes = c.bytes(static_cast<std::size_t>(n));
            if (!c.ok()) {
                status_ = Status::malformed;
                return;
            }
            value_.emplace(reinterpret_cast<const char*>(bytes.data()), bytes.size());
            return;
        }
    }
}

}  // namespace uniqguard::protocol::mysql
