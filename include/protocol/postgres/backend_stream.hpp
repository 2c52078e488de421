// Walks the server's byte stream message by message without holding it: bytes are forwarded as
// they arrive, even in the middle of a large DataRow, so a reply of any size passes through a
// fixed-size read buffer. Only the messages the session asks to observe (ReadyForQuery,
// ParameterStatus, BackendKeyData, ...; all small) are gathered whole and reported.
//
// The session decides per message, when its header arrives, whether the client sees it: the
// guard drops the replies to statements the proxy itself sent. Forwarded bytes are reported as
// segments of the fed chunk, in order, so the caller can send them with one gathered write.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "util/bytes.hpp"

namespace uniqguard::protocol::postgres {

struct MessageDisposition {
    bool forward = true;   // false: the client never sees it
    bool observe = false;  // true: on_message receives the whole body
};

class BackendStreamObserver {
  public:
    virtual ~BackendStreamObserver() = default;
    virtual MessageDisposition on_header(char type, std::uint32_t body_length) = 0;
    virtual void on_message(char type, util::Bytes body) = 0;
    virtual void on_forward(util::Bytes segment) = 0;
};

class BackendStreamScanner {
  public:
    // Observed bodies above this are a protocol error (no message we observe comes close).
    static constexpr std::uint32_t max_observed_body = 1u << 20;

    // Feeds the next chunk. false: the stream is malformed (a length below 4, or an observed
    // message above max_observed_body); the session must close.
    bool feed(util::Bytes chunk, BackendStreamObserver& observer);

    // True between messages: no header or body is half-read.
    bool at_message_boundary() const { return header_have_ == 0 && body_left_ == 0; }

  private:
    std::uint8_t header_[5]{};
    std::size_t header_have_ = 0;  // bytes of a header read so far; 0 inside a body
    // A header that straddled two chunks is forwarded from here; it stays valid until the next
    // feed(), so callers may gather segments and write them after feed() returns.
    std::uint8_t carried_header_[5]{};
    char current_type_ = 0;
    std::uint32_t body_left_ = 0;
    MessageDisposition current_{};
    std::string observed_;  // body of an observed message split across chunks
};

}  // namespace uniqguard::protocol::postgres
