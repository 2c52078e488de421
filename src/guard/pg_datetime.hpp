// date, timestamp and timestamptz as PostgreSQL 15 reads them, for the forms the proxy knows
// exactly; everything else is `unsure` and goes to the server.
//
// Accepted text (surrounding blanks allowed, keywords in any case):
//   infinity | -infinity | epoch
//   DATE [ (blanks | 'T') TIME ] [ [blanks] ZONE ]
//   DATE  Y-M-D with a year of 3+ digits; '-', '/' or '.' as the (one) delimiter; or three
//         fields of which the first has 1-2 digits, read in the session's DateStyle order
//         (a 1-2 digit year is 1970-2069, as the server); or yyyymmdd / yymmdd run together.
//         Month and day have 1-2 digits.
//   TIME  h:mm, h:mm:ss, h:mm:ss.fff (any number of fraction digits, rounded to µs as the
//         server does: rint(strtod(".fff") * 1e6)); 24:00:00 and a leap second 60 allowed.
//   ZONE  +h, +hh, +hhmm, +hh:mm, +hh:mm:ss (or '-'), Z, UTC.
// A zone on a date or timestamp (without time zone) is checked and ignored, as the server
// ignores it; the time of a date is checked and ignored. Named zones, month names, BC, AM/PM,
// 'now'/'today', ISO week dates and the like are `unsure`.
#pragma once

#include <cstdint>
#include <string_view>

#include "guard/column_type.hpp"
#include "guard/key_normalizer.hpp"
#include "pg_numeric.hpp"
#include "util/bytes.hpp"

namespace uniqguard::guard::detail {

// For date: days since 2000-01-01 (INT32_MIN/MAX for ∓infinity, widened). For timestamp: µs
// since 2000-01-01 (wall clock). For timestamptz: µs since 2000-01-01 00:00 UTC. Typmod
// rounding applied.
Parse parse_datetime_text(const ColumnType& type, std::string_view text,
                          const SessionContext& session, std::int64_t& out);
Parse parse_datetime_binary(const ColumnType& type, util::Bytes value, std::int64_t& out);

}  // namespace uniqguard::guard::detail
