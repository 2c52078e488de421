// Walks the server's byte stream packet by packet without holding it: the session forwards
// every byte as it arrives (a 1 GB row passes through a 16 KiB buffer), and the scanner reports
// each packet that ends in the fed chunk with its first bytes, which is all the command tracker
// needs. Frames split across chunks, headers included, are handled.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "protocol/mysql/command_tracker.hpp"
#include "util/bytes.hpp"

namespace uniqguard::protocol::mysql {

class PacketObserver {
  public:
    virtual ~PacketObserver() = default;
    virtual void on_packet(std::uint8_t first_sequence, const ServerPacketHead& packet) = 0;
};

class PacketScanner {
  public:
    void feed(util::Bytes chunk, PacketObserver& observer);
    // No packet half-read.
    bool at_packet_boundary() const { return header_have_ == 0 && frame_left_ == 0 && !continues_; }

  private:
    std::array<std::uint8_t, 4> header_{};
    std::size_t header_have_ = 0;
    std::uint32_t frame_left_ = 0;  // payload bytes of the current frame still to come
    bool in_frame_ = false;         // a header was read, its payload is being skipped
    bool continues_ = false;        // the current frame is 0xFFFFFF long: another one follows
    bool first_frame_ = true;       // the current frame starts a packet
    std::uint8_t first_sequence_ = 0;
    std::uint32_t first_frame_length_ = 0;
    std::array<std::uint8_t, CommandTracker::head_bytes> head_{};
    std::size_t head_have_ = 0;
};

}  // namespace uniqguard::protocol::mysql
