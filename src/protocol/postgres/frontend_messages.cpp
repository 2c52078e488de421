#include "protocol/postgres/frontend_messages.hpp"

#include "protocol/postgres/message_codes.hpp"
#include "protocol/postgres/message_writer.hpp"

namespace uniqguard::protocol::postgres {

namespace {
// A cursor over a message body; every read checks the bounds.
class Reader {
  public:
    explicit Reader(util::Bytes b) : b_(b) {}
    std::optional<std::string_view> cstring() {
        for (std::size_t i = pos_; i < b_.size(); ++i) {
            if (b_[i] == 0) {
                auto s = util::as_chars(b_.subspan(pos_, i - pos_));
                pos_ = i + 1;
                return s;
            }
        }
        return std::nullopt;
    }
    std::optional<std::int16_t> int16() {
        if (b_.size() - pos_ < 2) return std::nullopt;
        auto v = static_cast<std::int16_t>(util::read_u16_be(b_.data() + pos_));
        pos_ += 2;
        return v;
    }
    std::optional<std::int32_t> int32() {
        if (b_.size() - pos_ < 4) return std::nullopt;
        auto v = static_cast<std::int32_t>(util::read_u32_be(b_.data() + pos_));
        pos_ += 4;
        return v;
    }
    std::optional<std::string_view> bytes(std::size_t n) {
        if (b_.size() - pos_ < n) return std::nullopt;
        auto s = util::as_chars(b_.subspan(pos_, n));
        pos_ += n;
        return s;
    }
    std::optional<char> byte() {
        if (pos_ >= b_.size()) return std::nullopt;
        return static_cast<char>(b_[pos_++]);
    }
    bool at_end() const { return pos_ == b_.size(); }

  private:
    util::Bytes b_;
    std::size_t pos_ = 0;
};
}  // namespace

std::optional<QueryMessage> decode_query(util::Bytes body) {
    Reader r(body);
    auto sql = r.cstring();
    if (!sql) return std::nullopt;
    return QueryMessage{*sql};
}

std::optional<ParseMessage> decode_parse(util::Bytes body) {
    Reader r(body);
    ParseMessage m;
    auto name = r.cstring();
    auto sql = r.cstring();
    auto n = r.int16();
    if (!name || !sql || !n || *n < 0) return std::nullopt;
    m.statement = *name;
    m.sql = *sql;
    for (int i = 0; i < *n; ++i) {
        auto oid = r.int32();
        if (!oid) return std::nullopt;
        m.parameter_types.push_back(static_cast<std::uint32_t>(*oid));
    }
    return m;
}

std::optional<BindMessage> decode_bind(util::Bytes body) {
    BindMessage m;
    if (!decode_bind_into(body, m)) return std::nullopt;
    return m;
}

bool decode_bind_into(util::Bytes body, BindMessage& m) {
    m.formats.clear();
    m.values.clear();
    m.result_formats.clear();
    Reader r(body);
    auto portal = r.cstring();
    auto statement = r.cstring();
    auto nformats = r.int16();
    if (!portal || !statement || !nformats || *nformats < 0) return false;
    m.portal = *portal;
    m.statement = *statement;
    for (int i = 0; i < *nformats; ++i) {
        auto f = r.int16();
        if (!f) return false;
        m.formats.push_back(*f);
    }
    auto nvalues = r.int16();
    if (!nvalues || *nvalues < 0) return false;
    if (m.formats.size() > 1 && m.formats.size() != static_cast<std::size_t>(*nvalues))
        return false;
    for (int i = 0; i < *nvalues; ++i) {
        auto len = r.int32();
        if (!len) return false;
        if (*len == -1) {
            m.values.emplace_back(std::nullopt);
            continue;
        }
        if (*len < 0) return false;
        auto v = r.bytes(static_cast<std::size_t>(*len));
        if (!v) return false;
        m.values.emplace_back(*v);
    }
    auto nresults = r.int16();
    if (!nresults || *nresults < 0) return false;
    for (int i = 0; i < *nresults; ++i) {
        auto f = r.int16();
        if (!f) return false;
        m.result_formats.push_back(*f);
    }
    return true;
}

std::optional<ExecuteMessage> decode_execute(util::Bytes body) {
    Reader r(body);
    auto portal = r.cstring();
    auto rows = r.int32();
    if (!portal || !rows) return std::nullopt;
    return ExecuteMessage{*portal, static_cast<std::uint32_t>(*rows)};
}

std::optional<CloseMessage> decode_close(util::Bytes body) {
    Reader r(body);
    auto kind = r.byte();
    auto name = r.cstring();
    if (!kind || !name || (*kind != 'S' && *kind != 'P')) return std::nullopt;
    return CloseMessage{*kind, *name};
}

void append_query(std::string& out, std::string_view sql) {
    MessageWriter(out).begin(static_cast<char>(FrontendCode::query)).cstring(sql).finish();
}

void append_parse(std::string& out, std::string_view statement, std::string_view sql) {
    MessageWriter(out)
        .begin(static_cast<char>(FrontendCode::parse))
        .cstring(statement)
        .cstring(sql)
        .int16(0)
        .finish();
}

void append_bind(std::string& out, std::string_view portal, std::string_view statement,
                 const std::vector<std::int16_t>& result_formats) {
    MessageWriter w(out);
    w.begin(static_cast<char>(FrontendCode::bind))
        .cstring(portal)
        .cstring(statement)
        .int16(0)
        .int16(0);
    w.int16(static_cast<std::uint16_t>(result_formats.size()));
    for (auto f : result_formats) w.int16(static_cast<std::uint16_t>(f));
    w.finish();
}

void append_execute(std::string& out, std::string_view portal) {
    MessageWriter(out)
        .begin(static_cast<char>(FrontendCode::execute))
        .cstring(portal)
        .int32(0)
        .finish();
}

void append_close(std::string& out, char kind, std::string_view name) {
    MessageWriter(out)
        .begin(static_cast<char>(FrontendCode::close))
        .int8(static_cast<std::uint8_t>(kind))
        .cstring(name)
        .finish();
}

std::optional<ErrorFieldList> decode_error_fields(util::Bytes body) {
    Reader r(body);
    ErrorFieldList fields;
    for (;;) {
        auto code = r.byte();
        if (!code) return std::nullopt;
        if (*code == 0) break;
        auto value = r.cstring();
        if (!value) return std::nullopt;
        fields.emplace_back(*code, std::string(*value));
    }
    return fields;
}

void append_error_message(std::string& out, const ErrorFieldList& fields, char type) {
    MessageWriter w(out);
    w.begin(type);
    for (const auto& [code, value] : fields) w.int8(static_cast<std::uint8_t>(code)).cstring(value);
    w.int8(0).finish();
}

std::optional<std::vector<std::optional<std::string_view>>> decode_data_row(util::Bytes body) {
    Reader r(body);
    auto n = r.int16();
    if (!n || *n < 0) return std::nullopt;
    std::vector<std::optional<std::string_view>> values;
    for (int i = 0; i < *n; ++i) {
        auto len = r.int32();
        if (!len) return std::nullopt;
        if (*len == -1) {
            values.emplace_back(std::nullopt);
            continue;
        }
        auto v = len >= 0 ? r.bytes(static_cast<std::size_t>(*len)) : std::nullopt;
        if (!v) return std::nullopt;
        values.emplace_back(*v);
    }
    return values;
}

}  // namespace uniqguard::protocol::postgres
