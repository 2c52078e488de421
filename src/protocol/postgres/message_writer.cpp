#include "protocol/postgres/message_writer.hpp"

#include "util/bytes.hpp"

namespace uniqguard::protocol::postgres {

MessageWriter& MessageWriter::begin(char type) {
    out_.push_back(type);
    return begin_untyped();
}

MessageWriter& MessageWriter::begin_untyped() {
    length_at_ = out_.size();
    out_.append(4, '\0');
    return *this;
}

MessageWriter& MessageWriter::int8(std::uint8_t v) {
    out_.push_back(static_cast<char>(v));
    return *this;
}

MessageWriter& MessageWriter::int16(std::uint16_t v) {
    out_.push_back(static_cast<char>(v >> 8));
    out_.push_back(static_cast<char>(v));
    return *this;
}

MessageWriter& MessageWriter::int32(std::uint32_t v) {
    char b[4];
    util::write_u32_be(reinterpret_cast<std::uint8_t*>(b), v);
    out_.append(b, 4);
    return *this;
}

MessageWriter& MessageWriter::cstring(std::string_view s) {
    out_.append(s);
    out_.push_back('\0');
    return *this;
}

MessageWriter& MessageWriter::bytes(std::string_view s) {
    out_.append(s);
    return *this;
}

void MessageWriter::finish() {
    const auto length = static_cast<std::uint32_t>(out_.size() - length_at_);
    util::write_u32_be(reinterpret_cast<std::uint8_t*>(out_.data() + length_at_), length);
}

void append_error_response(std::string& out, const ErrorFields& f) {
    MessageWriter w(out);
    w.begin(static_cast<char>(BackendCode::error_response));
    auto field = [&](char code, std::string_view value) {
        if (!value.empty()) w.int8(static_cast<std::uint8_t>(code)).cstring(value);
    };
    field('S', f.severity);
    field('V', f.severity);
    field('C', f.sqlstate);
    field('M', f.message);
    field('D', f.detail);
    field('H', f.hint);
    field('s', f.schema);
    field('t', f.table);
    field('n', f.constraint);
    w.int8(0);
    w.finish();
}

std::string error_response(const ErrorFields& fields) {
    std::string out;
    append_error_response(out, fields);
    return out;
}

void append_ready_for_query(std::string& out, TransactionStatus status) {
    MessageWriter w(out);
    w.begin(static_cast<char>(BackendCode::ready_for_query))
        .int8(static_cast<std::uint8_t>(status));
    w.finish();
}

}  // namespace uniqguard::protocol::postgres
