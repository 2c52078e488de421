#include "pgclient/messages.hpp"

#include <openssl/evp.h>

#include <cstring>

#include "protocol/postgres/message_codes.hpp"
#include "protocol/postgres/message_writer.hpp"

namespace uniqguard::pgclient {

namespace pg = protocol::postgres;

namespace {

char code(pg::FrontendCode c) { return static_cast<char>(c); }

// Reads NUL-terminated strings and big-endian integers off a message body.
class BodyReader {
  public:
    explicit BodyReader(util::Bytes body) : body_(body) {}
    bool at_end() const { return pos_ == body_.size(); }
    std::optional<std::string_view> cstring() {
        const void* nul = std::memchr(body_.data() + pos_, 0, body_.size() - pos_);
        if (nul == nullptr) return std::nullopt;
        const auto len =
            static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - (body_.data() + pos_));
        std::string_view s(reinterpret_cast<const char*>(body_.data() + pos_), len);
        pos_ += len + 1;
        return s;
    }
    std::optional<std::uint32_t> u32() {
        if (body_.size() - pos_ < 4) return std::nullopt;
        const auto v = util::read_u32_be(body_.data() + pos_);
        pos_ += 4;
        return v;
    }
    std::optional<std::uint16_t> u16() {
        if (body_.size() - pos_ < 2) return std::nullopt;
        const auto v = util::read_u16_be(body_.data() + pos_);
        pos_ += 2;
        return v;
    }
    std::optional<std::uint8_t> u8() {
        if (body_.size() == pos_) return std::nullopt;
        return body_[pos_++];
    }
    std::optional<std::string_view> bytes(std::size_t n) {
        if (body_.size() - pos_ < n) return std::nullopt;
        std::string_view s(reinterpret_cast<const char*>(body_.data() + pos_), n);
        pos_ += n;
        return s;
    }
    bool skip(std::size_t n) { return bytes(n).has_value(); }

  private:
    util::Bytes body_;
    std::size_t pos_ = 0;
};

std::string md5_hex(std::string_view data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), digest, &len, EVP_md5(), nullptr);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 15];
    }
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Sets row[index] to `text` (reusing a string already there) or to NULL.
void set_field(Row& row, std::size_t index, std::optional<std::string_view> text) {
    if (row.size() <= index) row.resize(index + 1);
    auto& field = row[index];
    if (!text) {
        field.reset();
    } else if (field) {
        field->assign(*text);
    } else {
        field.emplace(*text);
    }
}

}  // namespace

void append_startup_message(std::string& out,
                            const std::vector<std::pair<std::string, std::string>>& parameters) {
    pg::MessageWriter w(out);
    w.begin_untyped().int32(pg::startup_code::protocol_3_0);
    for (const auto& [name, value] : parameters) w.cstring(name).cstring(value);
    w.int8(0);
    w.finish();
}

void append_password_message(std::string& out, std::string_view password) {
    pg::MessageWriter w(out);
    w.begin(code(pg::FrontendCode::password)).cstring(password);
    w.finish();
}

void append_sasl_initial_response(std::string& out, std::string_view mechanism,
                                  std::string_view data) {
    pg::MessageWriter w(out);
    w.begin(code(pg::FrontendCode::password))
        .cstring(mechanism)
        .int32(static_cast<std::uint32_t>(data.size()))
        .bytes(data);
    w.finish();
}

void append_sasl_response(std::string& out, std::string_view data) {
    pg::MessageWriter w(out);
    w.begin(code(pg::FrontendCode::password)).bytes(data);
    w.finish();
}

void append_query(std::string& out, std::string_view sql) {
    pg::MessageWriter w(out);
    w.begin(code(pg::FrontendCode::query)).cstring(sql);
    w.finish();
}

void append_parse(std::string& out, std::string_view sql) {
    pg::MessageWriter w(out);
    // Unnamed statement; no parameter types: the server infers them.
    w.begin(code(pg::FrontendCode::parse)).cstring("").cstring(sql).int16(0);
    w.finish();
}

void append_bind(std::string& out, const std::vector<std::optional<std::string>>& params) {
    pg::MessageWriter w(out);
    // Unnamed portal and statement; zero format codes: every parameter is text.
    w.begin(code(pg::FrontendCode::bind)).cstring("").cstring("").int16(0);
    w.int16(static_cast<std::uint16_t>(params.size()));
    for (const auto& p : params) {
        if (!p) {
            w.int32(0xffffffffu);  // -1: NULL
        } else {
            w.int32(static_cast<std::uint32_t>(p->size())).bytes(*p);
        }
    }
    w.int16(0);  // every result column as text
    w.finish();
}

void append_describe_portal(std::string& out) {
    pg::MessageWriter w(out);
    w.begin(code(pg::FrontendCode::describe)).int8('P').cstring("");
    w.finish();
}

void append_execute(std::string& out) {
    pg::MessageWriter w(out);
    w.begin(code(pg::FrontendCode::execute)).cstring("").int32(0);  // 0: all rows
    w.finish();
}

void append_sync(std::string& out) {
    pg::MessageWriter w(out);
    w.begin(code(pg::FrontendCode::sync));
    w.finish();
}

void append_copy_fail(std::string& out, std::string_view reason) {
    pg::MessageWriter w(out);
    w.begin(code(pg::FrontendCode::copy_fail)).cstring(reason);
    w.finish();
}

void append_terminate(std::string& out) {
    pg::MessageWriter w(out);
    w.begin(code(pg::FrontendCode::terminate));
    w.finish();
}

std::string md5_password_response(std::string_view user, std::string_view password,
                                  util::Bytes salt) {
    std::string inner(password);
    inner += user;
    std::string outer = md5_hex(inner);
    outer.append(reinterpret_cast<const char*>(salt.data()), salt.size());
    std::string answer = "md5" + md5_hex(outer);
    // The intermediate hash is as good as the password for this user: do not leave it around.
    OPENSSL_cleanse(inner.data(), inner.size());
    OPENSSL_cleanse(outer.data(), outer.size());
    return answer;
}

std::optional<ServerError> decode_error_response(util::Bytes body) {
    BodyReader r(body);
    ServerError e;
    std::string localized_severity;
    for (;;) {
        const auto field = r.u8();
        if (!field) return std::nullopt;
        if (*field == 0) break;
        const auto value = r.cstring();
        if (!value) return std::nullopt;
        switch (*field) {
            case 'S':
                localized_severity = *value;
                break;
            case 'V':
                e.severity = *value;
                break;
            case 'C':
                e.sqlstate = *value;
                break;
            case 'M':
                e.message = *value;
                break;
            case 'D':
                e.detail = *value;
                break;
            case 'H':
                e.hint = *value;
                break;
            default:
                break;  // position, context, schema, ...: not needed here
        }
    }
    if (e.severity.empty()) e.severity = std::move(localized_severity);
    return e;
}

std::optional<std::vector<std::string>> decode_row_description(util::Bytes body) {
    BodyReader r(body);
    const auto count = r.u16();
    if (!count) return std::nullopt;
    std::vector<std::string> names;
    names.reserve(*count);
    for (std::uint16_t i = 0; i < *count; ++i) {
        const auto name = r.cstring();
        // table oid, column number, type oid, type size, type modifier, format code
        if (!name || !r.skip(4 + 2 + 4 + 2 + 4 + 2)) return std::nullopt;
        names.emplace_back(*name);
    }
    if (!r.at_end()) return std::nullopt;
    return names;
}

bool decode_data_row(util::Bytes body, Row& row) {
    BodyReader r(body);
    const auto count = r.u16();
    if (!count) return false;
    row.resize(*count);
    for (std::uint16_t i = 0; i < *count; ++i) {
        const auto len = r.u32();
        if (!len) return false;
        if (*len == 0xffffffffu) {
            set_field(row, i, std::nullopt);
            continue;
        }
        const auto value = r.bytes(*len);
        if (!value) return false;
        set_field(row, i, *value);
    }
    return r.at_end();
}

std::optional<std::string> decode_command_complete(util::Bytes body) {
    BodyReader r(body);
    const auto tag = r.cstring();
    if (!tag || !r.at_end()) return std::nullopt;
    return std::string(*tag);
}

std::optional<std::pair<std::string, std::string>> decode_parameter_status(util::Bytes body) {
    BodyReader r(body);
    const auto name = r.cstring();
    const auto value = name ? r.cstring() : std::nullopt;
    if (!value || !r.at_end()) return std::nullopt;
    return std::pair{std::string(*name), std::string(*value)};
}

std::optional<CopyOutFormat> decode_copy_out_response(util::Bytes body) {
    BodyReader r(body);
    const auto format = r.u8();
    const auto columns = r.u16();
    if (!format || !columns || *format > 1) return std::nullopt;
    if (!r.skip(2 * static_cast<std::size_t>(*columns)) || !r.at_end()) return std::nullopt;
    return CopyOutFormat{.binary = *format == 1, .columns = *columns};
}

bool decode_copy_text_row(std::string_view line, Row& row) {
    std::size_t index = 0;
    std::string field;
    std::size_t start = 0;
    for (;;) {
        const auto tab = line.find('\t', start);
        const std::string_view raw =
            line.substr(start, tab == std::string_view::npos ? line.npos : tab - start);
        if (raw == "\\N") {
            set_field(row, index, std::nullopt);
        } else if (raw.find('\\') == std::string_view::npos) {
            set_field(row, index, raw);  // the common case: nothing to undo
        } else {
            field.clear();
            for (std::size_t i = 0; i < raw.size(); ++i) {
                if (raw[i] != '\\') {
                    field += raw[i];
                    continue;
                }
                if (++i == raw.size()) return false;  // a lone backslash at the end
                const char c = raw[i];
                switch (c) {
                    case 'b':
                        field += '\b';
                        break;
                    case 'f':
                        field += '\f';
                        break;
                    case 'n':
                        field += '\n';
                        break;
                    case 'r':
                        field += '\r';
                        break;
                    case 't':
                        field += '\t';
                        break;
                    case 'v':
                        field += '\v';
                        break;
                    case 'x': {
                        int value = 0;
                        int digits = 0;
                        while (digits < 2 && i + 1 < raw.size() && hex_value(raw[i + 1]) >= 0) {
                            value = value * 16 + hex_value(raw[++i]);
                            ++digits;
                        }
                        // "\x" without a hex digit is a plain 'x', as the server reads it.
                        field += digits == 0 ? 'x' : static_cast<char>(value);
                        break;
                    }
                    default:
                        if (c >= '0' && c <= '7') {
                            int value = c - '0';
                            for (int digits = 1; digits < 3 && i + 1 < raw.size() &&
                                                 raw[i + 1] >= '0' && raw[i + 1] <= '7';
                                 ++digits) {
                                value = value * 8 + (raw[++i] - '0');
                            }
                            field += static_cast<char>(value & 0xff);
                        } else {
                            field += c;
                        }
                }
            }
            set_field(row, index, std::string_view(field));
        }
        ++index;
        if (tab == std::string_view::npos) break;
        start = tab + 1;
    }
    row.resize(index);
    return true;
}

}  // namespace uniqguard::pgclient
