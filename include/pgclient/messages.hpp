// Sans-io codec of the frontend side of protocol 3.0, for the proxy's own connections: builds the
// messages the client sends and decodes the server's answers it needs. No socket, no Asio; the
// connection (pgclient/connection.hpp) does the I/O around these functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pgclient/result.hpp"
#include "util/bytes.hpp"

namespace uniqguard::pgclient {

// One row as text: nullopt is SQL NULL.
using Row = std::vector<std::optional<std::string>>;

// --- messages the client sends (appended to `out`, so several go in one write) ---

void append_startup_message(std::string& out,
                            const std::vector<std::pair<std::string, std::string>>& parameters);
void append_password_message(std::string& out, std::string_view password);
void append_sasl_initial_response(std::string& out, std::string_view mechanism,
                                  std::string_view data);
void append_sasl_response(std::string& out, std::string_view data);
void append_query(std::string& out, std::string_view sql);
// Extended protocol, unnamed statement and portal, every parameter and result column as text.
void append_parse(std::string& out, std::string_view sql);
void append_bind(std::string& out, const std::vector<std::optional<std::string>>& params);
void append_describe_portal(std::string& out);
void append_execute(std::string& out);
void append_sync(std::string& out);
void append_copy_fail(std::string& out, std::string_view reason);
void append_terminate(std::string& out);

// PostgreSQL's md5 password answer: "md5" + md5hex(md5hex(password + user) + salt).
std::string md5_password_response(std::string_view user, std::string_view password,
                                  util::Bytes salt);

// --- decoders of server messages (bodies after the 5-byte header); nullopt when malformed ---

std::optional<ServerError> decode_error_response(util::Bytes body);
// Column names of a RowDescription.
std::optional<std::vector<std::string>> decode_row_description(util::Bytes body);
// Fills `row` (reusing its storage); false when malformed.
bool decode_data_row(util::Bytes body, Row& row);
std::optional<std::string> decode_command_complete(util::Bytes body);
// ParameterStatus: name and value.
std::optional<std::pair<std::string, std::string>> decode_parameter_status(util::Bytes body);

struct CopyOutFormat {
    bool binary = false;
    std::uint16_t columns = 0;
};
std::optional<CopyOutFormat> decode_copy_out_response(util::Bytes body);

// One line of COPY's text format (without its '\n'): fields split on tab, "\N" is NULL,
// backslash escapes (\b \f \n \r \t \v \\, octal \ddd, hex \xhh, any other \c is c) undone.
// Fills `row` (reusing its storage); false when the line ends in a lone backslash.
bool decode_copy_text_row(std::string_view line, Row& row);

}  // namespace uniqguard::pgclient
