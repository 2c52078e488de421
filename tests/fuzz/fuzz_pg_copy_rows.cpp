// Fuzzes the COPY FROM STDIN row decoder (protocol/postgres/copy_rows.hpp), which reads client
// data the proxy then forwards, in all three formats. Two properties are checked on every input:
// - every byte fed is reported exactly once and in order (as a row or not), which is what lets
//   the guard forward the data without some rows (action ignore) and lose nothing else;
// - the rows do not depend on how the data was split into CopyData messages: one message, or
//   chunks whose sizes come from the input, give the same rows, fields and line numbers.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/postgres/copy_rows.hpp"

using namespace uniqguard::protocol::postgres;

namespace {

struct SeenRow {
    std::uint64_t line;
    std::vector<std::optional<std::string>> fields;
    bool complete;
    bool operator==(const SeenRow&) const = default;
};

struct Outcome {
    std::vector<SeenRow> rows;
    std::string reported;  // every `bytes`, concatenated
    bool ok = true;
    bool operator==(const Outcome&) const = default;
};

Outcome decode(const CopyFormatOptions& options, const std::vector<std::size_t>& wanted,
               std::string_view data, std::size_t chunk) {
    CopyRowDecoder decoder(options, wanted, 4096);
    Outcome out;
    auto on_row = [&](const CopyRow& row) {
        out.reported += row.bytes;
        if (!row.is_row) return;
        if (row.fields.size() != wanted.size()) __builtin_trap();
        out.rows.push_back({row.line, row.fields, row.complete});
    };
    for (std::size_t at = 0; at < data.size() && out.ok; at += chunk) {
        const std::string piece(data.substr(at, chunk));  // its own allocation, for ASan
        out.ok = decoder.feed(uniqguard::util::as_bytes(piece), on_row);
    }
    if (out.ok) out.ok = decoder.finish(on_row);
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // Four bytes of settings, then the data.
    if (size < 4) return 0;
    CopyFormatOptions options;
    const std::uint8_t mode = data[0];
    options.format = static_cast<CopyDataFormat>(mode % 3);
    options.header = (mode & 4) != 0;
    if (options.format == CopyDataFormat::csv) {
        options.delimiter = ',';
        options.null_string = "";
        if (mode & 8) options.escape = '\\';
        options.force_not_null = {(mode & 16) != 0, false, false};
        options.force_null = {false, (mode & 32) != 0, false};
    } else if (mode & 8) {
        options.delimiter = '|';
    }
    std::vector<std::size_t> wanted;
    for (std::size_t f = 0; f < 3; ++f)
        if (data[1] & (1u << f)) wanted.push_back((data[1] >> 3) & 1 ? 2 - f : f);
    const std::size_t chunk = 1 + data[2] % 23;
    const std::string_view input(reinterpret_cast<const char*>(data) + 4, size - 4);

    const Outcome whole = decode(options, wanted, input, input.size() + 1);
    const Outcome chunked = decode(options, wanted, input, chunk);
    // An error (a row over 4096 bytes) may come at a different place; without one the two agree.
    if (whole.ok && chunked.ok && !(whole == chunked)) __builtin_trap();
    if (whole.ok && whole.reported != input) __builtin_trap();
    if (chunked.ok && chunked.reported != input) __builtin_trap();
    return 0;
}
