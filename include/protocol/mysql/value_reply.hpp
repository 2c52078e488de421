// Reads the server's reply to a query the proxy sends itself in a client's session (the guard's
// check: one row, one column), from the raw bytes, sans-io. The reply never reaches the client;
// the session feeds the bytes that arrive while the check is out, and knows the reply is whole
// when this says so. Text protocol only:
//   ERR                                       the query failed (code and message kept);
//   OK                                        a statement without a result (value empty);
//   column count, definitions, [EOF], rows, EOF-or-OK (or ERR)
//                                             the first column of the first row is the value
//                                             (nullopt for NULL); later rows are read and dropped.
// Without CLIENT_DEPRECATE_EOF the definitions end with an EOF packet; with it, the rows end with
// an OK packet that has the 0xFE header. A reply of another shape is `malformed`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "util/bytes.hpp"

namespace uniqguard::protocol::mysql {

class ValueReplyReader {
  public:
    enum class Status { need_more, done, malformed };

    explicit ValueReplyReader(bool deprecate_eof) : deprecate_eof_(deprecate_eof) {}

    // Reads the whole packets at the front of `data`; returns how many bytes it read (the rest
    // is an unfinished packet: feed it again with more bytes behind it).
    std::size_t feed(util::Bytes data);
    Status status() const { return status_; }

    // When done:
    bool failed() const { return error_code_ != 0; }
    std::uint16_t error_code() const { return error_code_; }
    const std::string& error_message() const { return error_message_; }
    const std::string& error_sqlstate() const { return error_sqlstate_; }  // empty: none sent
    const std::optional<std::string>& value() const { return value_; }

  private:
    enum class Phase { first, definitions, definitions_eof, rows };
    void on_packet(util::Bytes payload);

    bool deprecate_eof_;
    Phase phase_ = Phase::first;
    std::uint64_t columns_left_ = 0;
    bool have_row_ = false;
    Status status_ = Status::need_more;
    std::uint16_t error_code_ = 0;
    std::string error_message_;
    std::string error_sqlstate_;
    std::optional<std::string> value_;
};

}  // namespace uniqguard::protocol::mysql
