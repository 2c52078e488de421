#include "protocol/postgres/copy_rows.hpp"

#include <algorithm>
#include <cstring>

namespace uniqguard::protocol::postgres {

namespace {
std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

bool truthy(const std::string& v) {
    const std::string l = lower(v);
    return l == "true" || l == "on" || l == "1" || l == "yes" || l == "match";
}

// "a,b" (the transform writes a list option's names joined by commas) → per column of `columns`.
std::vector<bool> column_flags(const std::string& names, const std::vector<std::string>& columns) {
    std::vector<bool> flags(columns.size(), false);
    std::size_t at = 0;
    while (at <= names.size()) {
        const std::size_t comma = std::min(names.find(',', at), names.size());
        const std::string name = names.substr(at, comma - at);
        for (std::size_t i = 0; i < columns.size(); ++i)
            if (columns[i] == name) flags[i] = true;
        at = comma + 1;
    }
    return flags;
}

bool is_octal(char c) { return c >= '0' && c <= '7'; }
int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

constexpr std::string_view binary_signature{"PGCOPY\n\377\r\n\0", 11};
}  // namespace

std::optional<CopyFormatOptions> copy_format_options(
    const std::vector<std::pair<std::string, std::string>>& options,
    const std::vector<std::string>& columns, std::string& error) {
    CopyFormatOptions o;
    for (const auto& [name, value] : options)
        if (name == "format") {
            const std::string f = lower(value);
            if (f == "csv") o.format = CopyDataFormat::csv;
            if (f == "binary") o.format = CopyDataFormat::binary;
        }
    if (o.format == CopyDataFormat::csv) {
        o.delimiter = ',';
        o.null_string.clear();
    }
    bool escape_set = false;
    for (const auto& [name, value] : options) {
        if (name == "delimiter") {
            if (value.size() != 1) {
                error = "a DELIMITER of more than one byte";
                return std::nullopt;
            }
            o.delimiter = value[0];
        } else if (name == "null") {
            o.null_string = value;
        } else if (name == "header") {
            o.header = truthy(value);
        } else if (name == "quote" && value.size() == 1) {
            o.quote = value[0];
        } else if (name == "escape" && value.size() == 1) {
            o.escape = value[0];
            escape_set = true;
        } else if (name == "force_not_null") {
            o.force_not_null = column_flags(value, columns);
        } else if (name == "force_null") {
            o.force_null = column_flags(value, columns);
        } else if (name == "encoding") {
            // The data would be in another encoding than the session's: the proxy reads keys
            // as UTF-8.
            error = "an ENCODING option";
            return std::nullopt;
        }
    }
    if (!escape_set) o.escape = o.quote;
    o.force_not_null.resize(columns.size(), false);
    o.force_null.resize(columns.size(), false);
    return o;
}

CopyRowDecoder::CopyRowDecoder(CopyFormatOptions options, std::vector<std::size_t> wanted,
                               std::size_t max_row_bytes)
    : options_(std::move(options)),
      wanted_(std::move(wanted)),
      max_row_bytes_(max_row_bytes),
      fields_(wanted_.size()),
      seen_(wanted_.size(), false) {}

int CopyRowDecoder::wanted_slot(std::size_t field) const {
    for (std::size_t i = 0; i < wanted_.size(); ++i)
        if (wanted_[i] == field) return static_cast<int>(i);
    return -1;
}

void CopyRowDecoder::emit(const RowHandler& on_row, bool complete, std::string_view raw,
                          std::string_view bytes) {
    for (bool s : seen_) complete = complete && s;
    on_row(CopyRow{
        .line = line_, .fields = fields_, .complete = complete, .raw = raw, .bytes = bytes});
    std::fill(seen_.begin(), seen_.end(), false);
}

void CopyRowDecoder::pass(const RowHandler& on_row, std::string_view bytes) {
    if (bytes.empty()) return;
    on_row(CopyRow{
        .line = line_, .fields = fields_, .complete = false, .bytes = bytes, .is_row = false});
}

bool CopyRowDecoder::feed(util::Bytes data, const RowHandler& on_row) {
    if (!error_.empty()) return false;
    if (ended_) {
        pass(on_row, util::as_chars(data));  // ignored by the server too
        return true;
    }
    pending_.append(util::as_chars(data));
    return run(false, on_row);
}

bool CopyRowDecoder::finish(const RowHandler& on_row) {
    if (!error_.empty()) return false;
    if (ended_) return true;
    return run(true, on_row);
}

bool CopyRowDecoder::run(bool final, const RowHandler& on_row) {
    std::size_t at = 0;
    while (at < pending_.size() && !ended_ && error_.empty()) {
        std::size_t used = 0;
        switch (options_.format) {
            case CopyDataFormat::text:
                used = text_row(at, final, on_row);
                break;
            case CopyDataFormat::csv:
                used = csv_row(at, final, on_row);
                break;
            case CopyDataFormat::binary:
                used = binary_row(at, on_row);
                break;
        }
        if (used == 0) break;
        at += used;
    }
    pending_.erase(0, at);
    if (error_.empty() && pending_.size() > max_row_bytes_)
        error_ = "a COPY row longer than " + std::to_string(max_row_bytes_) + " bytes";
    if (error_.empty() && final && !pending_.empty()) {
        pass(on_row, pending_);  // an unfinished binary tuple: the server reports it
        pending_.clear();
    }
    return error_.empty();
}

// Text format (copyfromparse.c, CopyReadLineText and CopyReadAttributesText): a line ends at an
// unescaped \n, \r or \r\n; a backslash escapes the next byte (an escaped newline is data).
std::size_t CopyRowDecoder::text_row(std::size_t at, bool final, const RowHandler& on_row) {
    const std::string_view buf(pending_);
    std::size_t end = at;  // the line's end (EOL excluded)
    std::size_t next = 0;  // where the next line starts
    while (end < buf.size()) {
        const char c = buf[end];
        if (c == '\\') {
            if (end + 1 >= buf.size()) break;
            end += 2;
            continue;
        }
        if (c == '\n') {
            next = end + 1;
            break;
        }
        if (c == '\r') {
            if (end + 1 >= buf.size() && !final) break;  // \r\n may be split
            next = end + 1 < buf.size() && buf[end + 1] == '\n' ? end + 2 : end + 1;
            break;
        }
        ++end;
    }
    if (next == 0) {
        if (!final) return 0;
        end = next = buf.size();  // the last line, without its newline
    }
    const std::string_view line = buf.substr(at, end - at);
    const std::string_view bytes = buf.substr(at, next - at);
    if (line == "\\.") {
        ended_ = true;
        pass(on_row, buf.substr(at));  // the marker and whatever follows it
        return buf.size() - at;
    }
    ++line_;
    if (options_.header && !header_done_) {
        header_done_ = true;
        pass(on_row, bytes);
        return next - at;
    }
    std::size_t field = 0;
    std::size_t p = 0;
    for (;;) {
        const std::size_t start = p;
        const int slot = wanted_slot(field);
        std::string value;
        while (p < line.size() && line[p] != options_.delimiter) {
            char c = line[p++];
            if (c == '\\' && p < line.size()) {
                c = line[p++];
                if (is_octal(c)) {
                    int v = c - '0';
                    for (int k = 0; k < 2 && p < line.size() && is_octal(line[p]); ++k)
                        v = v * 8 + (line[p++] - '0');
                    c = static_cast<char>(v & 0xff);
                } else if (c == 'x' && p < line.size() && hex_value(line[p]) >= 0) {
                    int v = hex_value(line[p++]);
                    if (p < line.size() && hex_value(line[p]) >= 0)
                        v = v * 16 + hex_value(line[p++]);
                    c = static_cast<char>(v);
                } else {
                    switch (c) {
                        case 'b':
                            c = '\b';
                            break;
                        case 'f':
                            c = '\f';
                            break;
                        case 'n':
                            c = '\n';
                            break;
                        case 'r':
                            c = '\r';
                            break;
                        case 't':
                            c = '\t';
                            break;
                        case 'v':
                            c = '\v';
                            break;
                        default:
                            break;  // the byte itself
                    }
                }
            }
            if (slot >= 0) value += c;
        }
        if (slot >= 0) {
            const auto s = static_cast<std::size_t>(slot);
            // NULL is recognised on the raw text, before escapes are read.
            if (line.substr(start, p - start) == options_.null_string)
                fields_[s] = std::nullopt;
            else
                fields_[s] = std::move(value);
            seen_[s] = true;
        }
        if (p >= line.size()) break;
        ++p;  // the delimiter
        ++field;
    }
    emit(on_row, true, line, bytes);
    return next - at;
}

// CSV (CopyReadLineText in CSV mode, CopyReadAttributesCSV): newlines inside quotes are data;
// with ESCAPE equal to QUOTE a doubled quote is a quote, else ESCAPE escapes QUOTE and itself.
std::size_t CopyRowDecoder::csv_row(std::size_t at, bool final, const RowHandler& on_row) {
    const std::string_view buf(pending_);
    const char quote = options_.quote;
    // The line reader ignores the escape when it equals the quote (the quote then toggles).
    const char line_escape = options_.escape == quote ? '\0' : options_.escape;
    bool in_quote = false, last_was_escape = false;
    std::size_t end = at, next = 0;
    // The server counts the newlines inside quotes as lines too (of the file's newline style,
    // a CR until the first line has ended).
    std::uint64_t embedded = 0;
    while (end < buf.size()) {
        const char c = buf[end];
        if (in_quote && line_escape != '\0' && c == line_escape) last_was_escape = !last_was_escape;
        if (c == quote && !last_was_escape) in_quote = !in_quote;
        if (c != line_escape) last_was_escape = false;
        if (in_quote && c == (eol_ == '\n' ? '\n' : '\r')) ++embedded;
        if (!in_quote && c == '\n') {
            next = end + 1;
            break;
        }
        if (!in_quote && c == '\r') {
            if (end + 1 >= buf.size() && !final) break;
            next = end + 1 < buf.size() && buf[end + 1] == '\n' ? end + 2 : end + 1;
            break;
        }
        ++end;
    }
    if (next != 0 && eol_ == 0) eol_ = buf[end];
    if (next == 0) {
        if (!final) return 0;
        end = next = buf.size();
    }
    const std::string_view line = buf.substr(at, end - at);
    const std::string_view bytes = buf.substr(at, next - at);
    if (line == "\\.") {
        ended_ = true;
        pass(on_row, buf.substr(at));
        return buf.size() - at;
    }
    line_ += 1 + embedded;
    if (options_.header && !header_done_) {
        header_done_ = true;
        pass(on_row, bytes);
        return next - at;
    }
    std::size_t field = 0, p = 0;
    for (;;) {
        const std::size_t start = p;
        const int slot = wanted_slot(field);
        std::string value;
        bool saw_quote = false, delimiter = false;
        for (;;) {
            // Outside quotes, up to a delimiter or a quote.
            while (p < line.size()) {
                const char c = line[p++];
                if (c == options_.delimiter) {
                    delimiter = true;
                    break;
                }
                if (c == quote) {
                    saw_quote = true;
                    goto quoted;
                }
                if (slot >= 0) value += c;
            }
            break;
        quoted:
            // Inside quotes, up to the closing quote.
            while (p < line.size()) {
                const char c = line[p++];
                if (c == options_.escape && p < line.size() &&
                    (line[p] == options_.escape || line[p] == quote)) {
                    if (slot >= 0) value += line[p];
                    ++p;
                    continue;
                }
                if (c == quote) break;
                if (slot >= 0) value += c;
            }
        }
        if (slot >= 0) {
            const auto s = static_cast<std::size_t>(slot);
            const std::size_t column = field;
            const bool raw_null =
                !saw_quote &&
                line.substr(start, p - start - (delimiter ? 1 : 0)) == options_.null_string;
            std::optional<std::string> v;
            if (!raw_null) v = std::move(value);
            if (!v && column < options_.force_not_null.size() && options_.force_not_null[column])
                v = options_.null_string;
            else if (v && column < options_.force_null.size() && options_.force_null[column] &&
                     *v == options_.null_string)
                v = std::nullopt;
            fields_[s] = std::move(v);
            seen_[s] = true;
        }
        if (!delimiter) break;
        ++field;
    }
    emit(on_row, true, line, bytes);
    return next - at;
}

// Binary (CopyReadBinaryTuple): the 11-byte signature, flags and a header extension, then per
// tuple a 16-bit field count (-1 ends the data) and per field a 32-bit length (-1 = NULL).
std::size_t CopyRowDecoder::binary_row(std::size_t at, const RowHandler& on_row) {
    const std::string_view buf(pending_);
    const auto* p = reinterpret_cast<const std::uint8_t*>(buf.data());
    const std::size_t size = buf.size();
    if (!header_done_) {
        if (size - at < binary_signature.size() + 8) return 0;
        if (buf.substr(at, binary_signature.size()) != binary_signature) {
            error_ = "the COPY data does not start with the binary signature";
            return 0;
        }
        const std::size_t extension = util::read_u32_be(p + at + 15);
        if (extension > max_row_bytes_) {
            error_ = "a binary COPY header extension too long";
            return 0;
        }
        const std::size_t total = binary_signature.size() + 8 + extension;
        if (size - at < total) return 0;
        header_done_ = true;
        pass(on_row, buf.substr(at, total));
        return total;
    }
    if (size - at < 2) return 0;
    const auto count = static_cast<std::int16_t>(util::read_u16_be(p + at));
    if (count == -1) {
        ended_ = true;
        pass(on_row, buf.substr(at));  // what follows the trailer is ignored
        return size - at;
    }
    std::size_t q = at + 2;
    for (std::int16_t f = 0; f < count; ++f) {
        if (size - q < 4) return 0;
        const auto length = static_cast<std::int32_t>(util::read_u32_be(p + q));
        q += 4;
        const int slot = wanted_slot(static_cast<std::size_t>(f));
        if (length < 0) {
            if (slot >= 0) {
                fields_[static_cast<std::size_t>(slot)] = std::nullopt;
                seen_[static_cast<std::size_t>(slot)] = true;
            }
            continue;
        }
        if (size - q < static_cast<std::size_t>(length)) return 0;
        if (slot >= 0) {
            fields_[static_cast<std::size_t>(slot)] =
                std::string(buf.substr(q, static_cast<std::size_t>(length)));
            seen_[static_cast<std::size_t>(slot)] = true;
        }
        q += static_cast<std::size_t>(length);
    }
    ++line_;
    emit(on_row, count >= 0, {}, buf.substr(at, q - at));
    return q - at;
}

}  // namespace uniqguard::protocol::postgres
