// Builds PostgreSQL messages the PgBouncer way (pktbuf_start_packet / pktbuf_finish_packet): write
// the body, then fill in the length. Appends to a caller-owned string so several messages can be
// sent in one write.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/postgres/message_codes.hpp"

namespace uniqguard::protocol::postgres {

class MessageWriter {
  public:
    explicit MessageWriter(std::string& out) : out_(out) {}

    // Typed message; the type byte is followed by a length placeholder.
    MessageWriter& begin(char type);
    // Untyped startup-phase packet (StartupMessage, SSLRequest, CancelRequest).
    MessageWriter& begin_untyped();
    MessageWriter& int8(std::uint8_t v);
    MessageWriter& int16(std::uint16_t v);
    MessageWriter& int32(std::uint32_t v);
    MessageWriter& cstring(std::string_view s);  // appends s and a NUL
    MessageWriter& bytes(std::string_view s);
    // Fills in the length of the message begun last.
    void finish();

  private:
    std::string& out_;
    std::size_t length_at_ = 0;
};

// The fields of an ErrorResponse / NoticeResponse (protocol "Error and Notice Message Fields").
struct ErrorFields {
    std::string_view severity = "ERROR";  // written as both 'S' and 'V'
    std::string_view sqlstate;            // 'C'
    std::string_view message;             // 'M'
    std::string_view detail;              // 'D', omitted when empty
    std::string_view hint;                // 'H', omitted when empty
    std::string_view schema;              // 's'
    std::string_view table;               // 't'
    std::string_view constraint;          // 'n'
};

void append_error_response(std::string& out, const ErrorFields& fields);
std::string error_response(const ErrorFields& fields);

void append_ready_for_query(std::string& out, TransactionStatus status);

}  // namespace uniqguard::protocol::postgres
