// One column value → canonical bytes, such that two values PostgreSQL 15 calls EQUAL under the
// column's type (and deterministic collation) give the SAME bytes (SPEC §4, "key equality is
// the server's"). Pure functions: no I/O, no shared state.
//
// The one rule that must never break: two server-equal values never map to different bytes
// (that would let a duplicate through). Mapping two different values to the same bytes would
// only cost a confirmation query; this code does not do it knowingly. When the proxy is not sure
// how the server reads a value it answers `cannot_normalize`, and the caller asks the server.
//
// Inputs, as the server receives them:
//   - text format: the characters the type's input function gets: the contents of a SQL string
//     literal (already unescaped) or a Bind parameter in text format. Not an unquoted SQL number:
//     `VALUES (1.5)` into an int column is a numeric constant that the server rounds; use
//     normalize_sql_number for those.
//   - binary format: the type's send format (int2/4/8 big-endian; numeric {ndigits, weight,
//     sign, dscale, base-10000 digits}; uuid 16 bytes; bool 1 byte; date int32 days since
//     2000-01-01; timestamp/timestamptz int64 µs since 2000-01-01; text types raw bytes).
// Text is taken to be in the server's encoding (the caller converts from client_encoding).
//
// A parameter may be declared with a type other than the column's (Parse's parameter OIDs): the
// server reads it with that type's input (or receive) function and then converts it with the
// assignment cast. The `source` overloads do the same for int2/int4/int8/numeric among
// themselves, text/varchar/bpchar among themselves, and equal types; any other pair is
// `cannot_normalize`. The default source is the column's own type (what an untyped literal or
// an unspecified parameter gets).
//
// Canonical bytes (the same for text and binary input of a type):
//   int2/int4/int8  8 bytes, big-endian two's complement int64 (equal values of any width agree)
//   numeric         'N' NaN, 'I' +Infinity, 'i' -Infinity, '0' zero; otherwise '+' or '-', a
//                   big-endian int32 e, then ASCII digits d1..dn with no leading or trailing
//                   zero, for the value 0.d1..dn × 10^e (1 = 1.0 = 1e0 = +"1",e=1). Scale is
//                   not part of equality (1.0 = 1.00); numeric(p,s) rounds first.
//   text, varchar   the bytes (varchar(n): excess trailing spaces cut at n characters)
//   bpchar          the bytes without trailing spaces (char(n) comparison ignores them)
//   uuid            16 bytes
//   bool            1 byte, 0 or 1
//   date            big-endian int32 days since 2000-01-01; ±infinity as INT32_MAX / INT32_MIN
//   timestamp(tz)   big-endian int64 µs since 2000-01-01 00:00 (timestamptz: UTC); ±infinity as
//                   INT64_MAX / INT64_MIN; timestamp(p) rounded as the server rounds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "guard/column_type.hpp"
#include "util/bytes.hpp"

namespace uniqguard::guard {

// DateStyle's input field order, for dates whose first field has one or two digits
// (01/02/03); a first field of three or more digits is always a year (YYYY-MM-DD).
enum class DateOrder : std::uint8_t { mdy, dmy, ymd };

// The session settings that change how a text value reads. Default-constructed, everything is
// unknown: ambiguous dates and timestamptz values without an explicit offset are
// `cannot_normalize` until the caller says what the session uses.
struct SessionContext {
    std::optional<DateOrder> date_order;
    // TimeZone as a fixed offset east of UTC, in seconds. nullopt: a zone with rules (DST,
    // history) that the proxy does not implement.
    std::optional<std::int32_t> utc_offset_seconds;
    // The server encoding is UTF8: text must be valid UTF-8 (the server refuses anything else)
    // and varchar(n)/char(n) lengths count UTF-8 characters. When false, lengths beyond n bytes
    // are `cannot_normalize`.
    bool server_utf8 = true;

    // From the ParameterStatus values of TimeZone and DateStyle ("ISO, MDY").
    static SessionContext from_settings(std::string_view time_zone, std::string_view date_style,
                                        bool server_utf8 = true);
};

// "ISO, MDY" → mdy; "SQL, DMY" / "European" → dmy; "YMD" → ymd; "German" alone → dmy (as the
// server). nullopt when no order can be read.
std::optional<DateOrder> date_order_from_datestyle(std::string_view date_style);

// The fixed offsets the proxy understands, in seconds east of UTC: UTC and its aliases (UTC,
// Etc/UTC, GMT, Etc/GMT, UCT, Zulu, Universal, Greenwich, GMT0, ...), Etc/GMT±N (POSIX sign:
// Etc/GMT+5 is UTC-5), and the POSIX form the server reports for `SET TIME ZONE <number or
// interval>`: "<+02>-02", "<-05:30>+05:30". nullopt for every other zone.
std::optional<std::int32_t> utc_offset_from_timezone(std::string_view time_zone);

enum class NormalizeStatus : std::uint8_t {
    ok,                // bytes are the canonical key part
    null,              // SQL NULL
    invalid,           // the server would refuse this value (syntax, range, length)
    cannot_normalize,  // the proxy is not sure how the server reads it: ask the server
};

std::string_view to_string(NormalizeStatus s);

struct NormalizedValue {
    NormalizeStatus status = NormalizeStatus::null;
    std::string bytes;  // canonical bytes when ok, empty otherwise

    static NormalizedValue null() { return {}; }
    bool ok() const { return status == NormalizeStatus::ok; }
    bool operator==(const NormalizedValue&) const = default;
};

NormalizedValue normalize_text(const ColumnType& column, std::string_view text,
                               const SessionContext& session);
NormalizedValue normalize_text(const ColumnType& column, const ColumnType& source,
                               std::string_view text, const SessionContext& session);

NormalizedValue normalize_binary(const ColumnType& column, util::Bytes value,
                                 const SessionContext& session);
NormalizedValue normalize_binary(const ColumnType& column, const ColumnType& source,
                                 util::Bytes value, const SessionContext& session);

// An unquoted SQL numeric constant as the lexer read it ("42", "-7", "1.50", "1e3"; a leading
// '-' when the parser folded a unary minus). The server types it int4, int8 or numeric and
// assigns it to the column: 2.5 into an int column is 3, 007 into a text column is '7', 1.50
// into a text column is '1.50'. Columns of other types: cannot_normalize.
NormalizedValue normalize_sql_number(const ColumnType& column, std::string_view number);

// The same, appending the canonical bytes to `out` (left as it was unless ok): no allocation
// once `out` has room. For building composite keys in place.
NormalizeStatus append_text(const ColumnType& column, const ColumnType& source,
                            std::string_view text, const SessionContext& session, std::string& out);
NormalizeStatus append_binary(const ColumnType& column, const ColumnType& source, util::Bytes value,
                              const SessionContext& session, std::string& out);

}  // namespace uniqguard::guard
