// Decoders of the client messages the guard reads (Query, Parse, Bind, Execute, Close) and
// encoders of those it sends itself, plus the editing of an ErrorResponse's fields. Views point
// into the message body: they live as long as it does. A malformed body decodes to nullopt; the
// server will refuse such a message itself, so the guard lets it pass.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/bytes.hpp"

namespace uniqguard::protocol::postgres {

struct QueryMessage {
    std::string_view sql;
};
std::optional<QueryMessage> decode_query(util::Bytes body);

struct ParseMessage {
    std::string_view statement;  // "" = the unnamed statement
    std::string_view sql;
    std::vector<std::uint32_t> parameter_types;  // 0 = unspecified
};
std::optional<ParseMessage> decode_parse(util::Bytes body);

struct BindMessage {
    std::string_view portal;
    std::string_view statement;
    std::vector<std::int16_t> formats;  // none: all text; one: for all; else one per parameter
    std::vector<std::optional<std::string_view>> values;  // nullopt = NULL
    std::vector<std::int16_t> result_formats;
    bool binary(std::size_t parameter) const {
        if (formats.empty()) return false;
        return (formats.size() == 1 ? formats[0] : formats[parameter]) == 1;
    }
};
// A Bind read into a fresh message (the unit tests' way; the guard re-uses a portal's message
// with decode_bind_into).
std::optional<BindMessage> decode_bind(util::Bytes body);
// decode_bind into `m`, re-using its vectors' memory (one Bind per prepared INSERT: no
// allocation once a portal has seen its first). False, and `m` unspecified, when malformed.
bool decode_bind_into(util::Bytes body, BindMessage& m);

struct ExecuteMessage {
    std::string_view portal;
    std::uint32_t max_rows = 0;
};
std::optional<ExecuteMessage> decode_execute(util::Bytes body);

struct CloseMessage {
    char kind = 'S';  // 'S' statement, 'P' portal
    std::string_view name;
};
std::optional<CloseMessage> decode_close(util::Bytes body);  // also Describe's layout

void append_query(std::string& out, std::string_view sql);
void append_parse(std::string& out, std::string_view statement, std::string_view sql);
// Bind without parameters; results in `result_formats` (none: all text).
void append_bind(std::string& out, std::string_view portal, std::string_view statement,
                 const std::vector<std::int16_t>& result_formats = {});
void append_execute(std::string& out, std::string_view portal);
void append_close(std::string& out, char kind, std::string_view name);

// An ErrorResponse/NoticeResponse body as (field code, value) pairs.
using ErrorFieldList = std::vector<std::pair<char, std::string>>;
std::optional<ErrorFieldList> decode_error_fields(util::Bytes body);
// A whole ErrorResponse (or, with type 'N', NoticeResponse) message from its fields.
void append_error_message(std::string& out, const ErrorFieldList& fields, char type = 'E');

// The values of one DataRow (nullopt = NULL).
std::optional<std::vector<std::optional<std::string_view>>> decode_data_row(util::Bytes body);

}  // namespace uniqguard::protocol::postgres
