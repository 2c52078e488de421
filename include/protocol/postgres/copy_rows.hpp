// The rows of COPY … FROM STDIN as they pass in the client's CopyData messages (text, CSV and
// binary formats), read the way the server's copyfromparse.c reads them, so that the guard sees
// the key values the server will store. Sans-io: CopyData bodies are fed in order; a row may
// span messages (its start is kept until its end arrives) and one message may hold many rows.
//
// Only the fields the caller asks for are decoded (the key columns); the others are skipped.
// A row the server will refuse (too few fields, a bad escape it rejects) needs no key: the
// server fails the COPY itself. Rows are numbered as the server numbers them in its errors'
// CONTEXT (`COPY t, line N`): a CSV header counts as line 1, a quoted field spanning lines makes
// one row numbered by its last line, a binary tuple is one line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/bytes.hpp"

namespace uniqguard::protocol::postgres {

enum class CopyDataFormat { text, csv, binary };

struct CopyFormatOptions {
    CopyDataFormat format = CopyDataFormat::text;
    char delimiter = '\t';
    std::string null_string = "\\N";
    bool header = false;  // CSV (and, from PostgreSQL 15, text): the first line is skipped
    char quote = '"';     // CSV
    char escape = '"';    // CSV
    // CSV, per field of the COPY's column list: FORCE_NOT_NULL / FORCE_NULL.
    std::vector<bool> force_not_null;
    std::vector<bool> force_null;
};

// The options of a COPY statement (name, value as written), for `column_count` fields named
// `columns` in order. nullopt with `error` set when the proxy cannot read data under them (an
// ENCODING other than the session's, a multi-byte delimiter): the guard refuses such a COPY.
std::optional<CopyFormatOptions> copy_format_options(
    const std::vector<std::pair<std::string, std::string>>& options,
    const std::vector<std::string>& columns, std::string& error);

// One row: its line number and the wanted fields, in the order asked for (nullopt = NULL).
// `complete` false: the row has fewer fields than asked for (the server refuses it).
struct CopyRow {
    std::uint64_t line = 0;
    const std::vector<std::optional<std::string>>& fields;
    bool complete = true;
    std::string_view raw;  // text, CSV: the line as sent, without its end (valid in the call)
    // Every byte of the data is reported once, in order, as a row or not (`is_row` false: a
    // header, the end marker or what follows it, the binary header and trailer, an unfinished
    // binary tuple at the end), so that a caller may forward the data without some rows.
    std::string_view bytes;
    bool is_row = true;
};

class CopyRowDecoder {
  public:
    using RowHandler = std::function<void(const CopyRow&)>;

    // `wanted`: indexes of the fields to decode, in the order they are to be reported.
    // `max_row_bytes`: a row that grows beyond it is an error (the proxy holds an unfinished row).
    CopyRowDecoder(CopyFormatOptions options, std::vector<std::size_t> wanted,
                   std::size_t max_row_bytes = 64u << 20);

    // One CopyData body. False on an error (error()): the data cannot be read, nothing more
    // may be fed.
    bool feed(util::Bytes data, const RowHandler& on_row);
    // At CopyDone: a last text/CSV line without its newline is a row (as for the server).
    bool finish(const RowHandler& on_row);

    const std::string& error() const { return error_; }
    // The end-of-data marker (`\.` line, the binary trailer) was read: later data is ignored,
    // as by the server.
    bool ended() const { return ended_; }
    std::uint64_t rows() const { return line_; }

  private:
    // Each returns the bytes consumed from `pending_` at `at`, 0 when the row is unfinished;
    // `final`: no more data comes.
    std::size_t text_row(std::size_t at, bool final, const RowHandler& on_row);
    std::size_t csv_row(std::size_t at, bool final, const RowHandler& on_row);
    std::size_t binary_row(std::size_t at, const RowHandler& on_row);
    bool run(bool final, const RowHandler& on_row);
    void emit(const RowHandler& on_row, bool complete, std::string_view raw,
              std::string_view bytes);
    void pass(const RowHandler& on_row, std::string_view bytes);
    int wanted_slot(std::size_t field) const;

    CopyFormatOptions options_;
    std::vector<std::size_t> wanted_;
    std::size_t max_row_bytes_;
    std::string pending_;  // bytes of rows not yet whole
    std::vector<std::optional<std::string>> fields_;
    std::vector<bool> seen_;
    std::uint64_t line_ = 0;
    bool header_done_ = false;
    char eol_ = 0;  // the first line's end: '\n', or '\r' (CR, CRLF)
    bool ended_ = false;
    std::string error_;
};

}  // namespace uniqguard::protocol::postgres
