// The reply to the guard's own query read from raw bytes (protocol/mysql/value_reply.hpp), whole
// and in short pieces, with and without CLIENT_DEPRECATE_EOF.
#include "protocol/mysql/value_reply.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "protocol/mysql/packet_writer.hpp"

using namespace uniqguard;
using namespace uniqguard::protocol::mysql;

namespace {
std::string packet(std::uint8_t seq, std::string payload) {
    std::string out;
    append_packet(out, seq, payload);
    return out;
}
const std::string column_definition = std::string(
                                          "\x03"
                                          "def",
                                          4) +
                                      std::string(20, '\x01');
const std::string eof("\xFE\x00\x00\x02\x00", 5);

std::string result_set(bool deprecate_eof, const std::string& row) {
    std::string r = packet(1, "\x01") + packet(2, column_definition);
    std::uint8_t seq = 3;
    if (!deprecate_eof) r += packet(seq++, eof);
    r += packet(seq++, row);
    r += packet(seq++, deprecate_eof ? std::string("\xFE\x00\x00\x02\x00\x00\x00", 7) : eof);
    return r;
}

// Feeds `bytes` in pieces of `step`, as the server pump would hand them over.
ValueReplyReader read(const std::string& bytes, bool deprecate_eof, std::size_t step) {
    ValueReplyReader reader(deprecate_eof);
    std::string pending;
    for (std::size_t i = 0; i < bytes.size(); i += step) {
        pending += bytes.substr(i, step);
        pending.erase(0, reader.feed(util::as_bytes(pending)));
    }
    return reader;
}
}  // namespace

TEST_CASE("OneRowOneColumnWithAndWithoutDeprecateEof", "[mysql][value_reply]") {
    for (bool deprecate : {false, true})
        for (std::size_t step : {1, 2, 3, 1000}) {
            const auto r = read(result_set(deprecate,
                                           "\x03"
                                           "010"),
                                deprecate, step);
            CHECK(r.status() == ValueReplyReader::Status::done);
            CHECK_FALSE(r.failed());
            CHECK(r.value() == "010");
        }
}

TEST_CASE("NotDoneBeforeTheLastPacket", "[mysql][value_reply]") {
    const auto whole = result_set(false,
                                  "\x01"
                                  "1");
    ValueReplyReader reader(false);
    const std::string head = whole.substr(0, whole.size() - 1);
    reader.feed(util::as_bytes(head));
    CHECK(reader.status() == ValueReplyReader::Status::need_more);
}

TEST_CASE("ErrKeepsCodeAndMessage", "[mysql][value_reply]") {
    const auto r =
        read(packet(1, std::string("\xFF\x7A\x04#42S02Table 'app.t' doesn't exist")), false, 2);
    CHECK(r.status() == ValueReplyReader::Status::done);
    CHECK(r.failed());
    CHECK(r.error_code() == 1146);
    CHECK(r.error_message() == "Table 'app.t' doesn't exist");
}

TEST_CASE("NullValueAndMalformedReplies", "[mysql][value_reply]") {
    const auto null_row = read(result_set(true, "\xFB"), true, 5);
    CHECK(null_row.status() == ValueReplyReader::Status::done);
    CHECK_FALSE(null_row.value());
    const auto empty = read(packet(1, ""), false, 1);
    CHECK(empty.status() == ValueReplyReader::Status::malformed);
}
