#include "pg_datetime.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <string>

#include "pg_text.hpp"

namespace uniqguard::guard::detail {
namespace {

constexpr std::int64_t kPostgresEpochJdate = 2451545;  // date2j(2000, 1, 1)
constexpr std::int64_t kUsecsPerSec = 1000000;
constexpr std::int64_t kUsecsPerDay = 86400 * kUsecsPerSec;
// MIN_TIMESTAMP and END_TIMESTAMP (datatype/timestamp.h): 4714-11-24 BC to 294277-01-01 UTC.
constexpr std::int64_t kMinTimestamp = -211813488000000000;
constexpr std::int64_t kEndTimestamp = 9223371331200000000;
// IS_VALID_DATE: DATETIME_MIN_JULIAN (0) to DATE_END_JULIAN (2147483494), epoch-relative.
constexpr std::int64_t kMinDate = -kPostgresEpochJdate;
constexpr std::int64_t kEndDate = 2147483494 - kPostgresEpochJdate;
constexpr std::int64_t kDateNoBegin = std::numeric_limits<std::int32_t>::min();
constexpr std::int64_t kDateNoEnd = std::numeric_limits<std::int32_t>::max();
constexpr std::int64_t kTimestampNoBegin = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kTimestampNoEnd = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kEpochUsecs = -946684800 * kUsecsPerSec;  // 1970-01-01 00:00
constexpr std::int64_t kEpochDays = -10957;
// Years past these are left to the server (the exact range edges depend on the zone).
constexpr std::int64_t kMaxTimestampYear = 294275;
constexpr std::int64_t kMaxDateYear = 5874896;
constexpr int kMaxTzHour = 15;  // MAX_TZDISP_HOUR

// date2j (utils/adt/datetime.c), proleptic Gregorian.
std::int64_t date2j(std::int64_t y, std::int64_t m, std::int64_t d) {
    if (m > 2) {
        m += 1;
        y += 4800;
    } else {
        m += 13;
        y += 4799;
    }
    const std::int64_t century = y / 100;
    std::int64_t julian = y * 365 - 32167;
    julian += y / 4 - century + century / 4;
    julian += 7834 * m / 256 + d;
    return julian;
}

bool is_leap(std::int64_t y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

int days_in_month(std::int64_t y, std::int64_t m) {
    static constexpr int kDays[2][12] = {{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31},
                                         {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}};
    return kDays[is_leap(y) ? 1 : 0][m - 1];
}

// AdjustTimestampForTypmod: rounds half away from zero to 10^-p seconds.
Parse round_to_typmod(const ColumnType& type, std::int64_t& t) {
    if (type.fractional_digits < 0 || type.fractional_digits >= 6) return Parse::ok;
    if (t == kTimestampNoBegin || t == kTimestampNoEnd) return Parse::ok;
    static constexpr std::int64_t kScales[6] = {1000000, 100000, 10000, 1000, 100, 10};
    const std::int64_t scale = kScales[type.fractional_digits];
    const std::int64_t offset = scale / 2;
    t = t >= 0 ? (t + offset) / scale * scale : -(((-t) + offset) / scale * scale);
    if (t < kMinTimestamp || t >= kEndTimestamp) return Parse::invalid;
    return Parse::ok;
}

class Scanner {
  public:
    explicit Scanner(std::string_view s) : s_(s) {}
    bool at_end() const { return i_ >= s_.size(); }
    char peek() const { return at_end() ? '\0' : s_[i_]; }
    void skip(std::size_t n = 1) { i_ += n; }
    void skip_space() {
        while (!at_end() && pg_isspace(s_[i_])) ++i_;
    }
    std::string_view rest() const { return s_.substr(i_); }
    // A run of ASCII digits at the cursor (not consumed).
    std::string_view digits() const {
        std::size_t j = i_;
        while (j < s_.size() && is_digit(s_[j])) ++j;
        return s_.substr(i_, j - i_);
    }

  private:
    std::string_view s_;
    std::size_t i_ = 0;
};

// Up to 9 digits (callers bound the length first).
std::int64_t value_of(std::string_view digits) {
    std::int64_t v = 0;
    for (char c : digits) v = v * 10 + (c - '0');
    return v;
}

// What may follow a date with no blank between: 'T' and a time, or a zone.
bool starts_time_or_zone(char c) {
    return c == 'T' || c == 't' || c == '+' || c == '-' || c == 'Z' || c == 'z' || c == 'U' ||
           c == 'u';
}

struct DateFields {
    std::int64_t year = 0, month = 0, day = 0;
    bool two_digit_year = false;
};

Parse scan_date(Scanner& sc, const SessionContext& session, DateFields& d) {
    const std::string_view g1 = sc.digits();
    if (g1.empty() || g1.size() > 9) return Parse::unsure;
    sc.skip(g1.size());
    const char delim = sc.peek();
    if (delim != '-' && delim != '/' && delim != '.') {
        // yyyymmdd or yymmdd run together (DecodeNumberField); nothing else here.
        if (g1.size() != 8 && g1.size() != 6) return Parse::unsure;
        if (!sc.at_end() && !pg_isspace(sc.peek()) && !starts_time_or_zone(sc.peek())) {
            return Parse::unsure;
        }
        d.day = value_of(g1.substr(g1.size() - 2));
        d.month = value_of(g1.substr(g1.size() - 4, 2));
        d.year = value_of(g1.substr(0, g1.size() - 4));
        d.two_digit_year = g1.size() == 6;
        return Parse::ok;
    }
    sc.skip();
    const std::string_view g2 = sc.digits();
    if (g2.empty() || g2.size() > 2) return Parse::unsure;  // a month name, a day of year...
    sc.skip(g2.size());
    if (sc.peek() != delim) return Parse::unsure;
    sc.skip();
    const std::string_view g3 = sc.digits();
    if (g3.empty() || g3.size() > 9) return Parse::unsure;
    sc.skip(g3.size());
    if (sc.peek() == delim) return Parse::unsure;

    const std::int64_t v1 = value_of(g1), v2 = value_of(g2), v3 = value_of(g3);
    if (g1.size() >= 3) {
        // A field of three or more digits first is always the year (DecodeNumber).
        if (g3.size() > 2) return Parse::unsure;
        d = {v1, v2, v3, false};
        return Parse::ok;
    }
    if (!session.date_order) return Parse::unsure;
    switch (*session.date_order) {
        case DateOrder::ymd:
            if (g3.size() > 2) return Parse::unsure;
            d = {v1, v2, v3, true};
            break;
        case DateOrder::mdy:
            d = {v3, v1, v2, g3.size() <= 2};
            break;
        case DateOrder::dmy:
            d = {v3, v2, v1, g3.size() <= 2};
            break;
    }
    return Parse::ok;
}

// ValidateDate.
Parse validate_date(DateFields& d, std::int64_t max_year) {
    if (d.two_digit_year) {
        if (d.year < 70) {
            d.year += 2000;
        } else if (d.year < 100) {
            d.year += 1900;
        }
    } else if (d.year <= 0) {
        return Parse::invalid;  // no year zero
    }
    if (d.month < 1 || d.month > 12) return Parse::invalid;
    if (d.day < 1 || d.day > 31) return Parse::invalid;
    if (d.day > days_in_month(d.year, d.month)) return Parse::invalid;
    if (d.year > max_year) return Parse::unsure;
    return Parse::ok;
}

struct TimeFields {
    std::int64_t hour = 0, minute = 0, second = 0, usec = 0;
};

Parse scan_time(Scanner& sc, TimeFields& t) {
    const std::string_view h = sc.digits();
    if (h.empty() || h.size() > 2) return Parse::unsure;
    sc.skip(h.size());
    if (sc.peek() != ':') return Parse::unsure;
    sc.skip();
    const std::string_view m = sc.digits();
    if (m.empty() || m.size() > 2) return Parse::unsure;
    sc.skip(m.size());
    t.hour = value_of(h);
    t.minute = value_of(m);
    if (sc.peek() == ':') {
        sc.skip();
        const std::string_view s = sc.digits();
        if (s.empty() || s.size() > 2) return Parse::unsure;
        sc.skip(s.size());
        t.second = value_of(s);
        if (sc.peek() == '.') {
            sc.skip();
            const std::string_view f = sc.digits();
            sc.skip(f.size());
            // ParseFractionalSecond: rint(strtod(".fff") * 1000000); "." alone is 0.
            if (!f.empty()) {
                std::string text = "0.";
                text += f;
                double frac = 0;
                auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), frac);
                if (ec != std::errc{} || ptr != text.data() + text.size()) return Parse::unsure;
                t.usec = static_cast<std::int64_t>(std::rint(frac * 1000000));
            }
        }
    } else if (sc.peek() == '.') {
        return Parse::unsure;  // h:mm.fff is minutes and seconds to the server
    }
    const char next = sc.peek();
    if (is_digit(next) || next == ':' || next == '.') return Parse::unsure;
    // DecodeTime's and time_overflows' checks: 24:00:00 and a leap second are allowed, but
    // never past 24:00:00 in all.
    if (t.hour > 24 || t.minute > 59 || t.second > 60 || t.usec > kUsecsPerSec) {
        return Parse::invalid;
    }
    if (((t.hour * 60 + t.minute) * 60 + t.second) * kUsecsPerSec + t.usec > kUsecsPerDay) {
        return Parse::invalid;
    }
    return Parse::ok;
}

bool equals_nocase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    }
    return true;
}

// A zone after the time, to the end of the text. Offset in seconds east of UTC.
Parse scan_zone(Scanner& sc, std::int64_t& east) {
    const char sign = sc.peek();
    if (sign == '+' || sign == '-') {
        sc.skip();
        const std::string_view h = sc.digits();
        std::int64_t hr = 0, min = 0, sec = 0;
        if (h.size() >= 1 && h.size() <= 2) {
            sc.skip(h.size());
            hr = value_of(h);
            if (sc.peek() == ':') {
                sc.skip();
                const std::string_view m = sc.digits();
                if (m.empty() || m.size() > 2) return Parse::unsure;
                sc.skip(m.size());
                min = value_of(m);
                if (sc.peek() == ':') {
                    sc.skip();
                    const std::string_view s = sc.digits();
                    if (s.empty() || s.size() > 2) return Parse::unsure;
                    sc.skip(s.size());
                    sec = value_of(s);
                }
            }
        } else if (h.size() >= 3 && h.size() <= 4) {
            sc.skip(h.size());
            if (!sc.at_end()) return Parse::unsure;
            hr = value_of(h) / 100;
            min = value_of(h) % 100;
        } else {
            return Parse::unsure;
        }
        if (!sc.at_end()) return Parse::unsure;
        if (hr > kMaxTzHour || min > 59 || sec > 59) return Parse::invalid;
        east = (hr * 60 + min) * 60 + sec;
        if (sign == '-') east = -east;
        return Parse::ok;
    }
    if (equals_nocase(sc.rest(), "z") || equals_nocase(sc.rest(), "utc")) {
        east = 0;
        return Parse::ok;
    }
    return Parse::unsure;
}

}  // namespace

Parse parse_datetime_text(const ColumnType& type, std::string_view text,
                          const SessionContext& session, std::int64_t& out) {
    const bool is_date = type.kind == TypeKind::date;
    const std::string_view s = trim_pg_space(text);
    if (equals_nocase(s, "infinity")) {
        out = is_date ? kDateNoEnd : kTimestampNoEnd;
        return Parse::ok;
    }
    if (equals_nocase(s, "-infinity")) {
        out = is_date ? kDateNoBegin : kTimestampNoBegin;
        return Parse::ok;
    }
    if (equals_nocase(s, "epoch")) {
        out = is_date ? kEpochDays : kEpochUsecs;  // timestamptz 'epoch' is 1970-01-01 UTC
        return Parse::ok;
    }

    Scanner sc(s);
    DateFields d;
    if (Parse r = scan_date(sc, session, d); r != Parse::ok) return r;

    TimeFields t;
    std::optional<std::int64_t> zone_east;
    if (!sc.at_end()) {
        bool time_next = false;
        if (sc.peek() == 'T' || sc.peek() == 't') {
            sc.skip();
            if (!is_digit(sc.peek())) return Parse::unsure;
            time_next = true;
        } else if (pg_isspace(sc.peek())) {
            sc.skip_space();
            time_next = is_digit(sc.peek());
        } else if (!starts_time_or_zone(sc.peek())) {
            return Parse::unsure;
        }
        // A zone may follow the date directly ("2024-01-02 +02": midnight there).
        if (time_next) {
            if (Parse r = scan_time(sc, t); r != Parse::ok) return r;
            sc.skip_space();
        }
        if (!sc.at_end()) {
            std::int64_t east = 0;
            if (Parse r = scan_zone(sc, east); r != Parse::ok) return r;
            zone_east = east;
        }
    }

    if (Parse r = validate_date(d, is_date ? kMaxDateYear : kMaxTimestampYear); r != Parse::ok) {
        return r;
    }
    const std::int64_t days = date2j(d.year, d.month, d.day) - kPostgresEpochJdate;
    if (is_date) {
        if (days < kMinDate || days >= kEndDate) return Parse::invalid;
        out = days;
        return Parse::ok;
    }
    std::int64_t usecs =
        days * kUsecsPerDay + ((t.hour * 60 + t.minute) * 60 + t.second) * kUsecsPerSec + t.usec;
    if (type.kind == TypeKind::timestamptz) {
        if (!zone_east) {
            if (!session.utc_offset_seconds) return Parse::unsure;
            zone_east = *session.utc_offset_seconds;
        }
        usecs -= *zone_east * kUsecsPerSec;
    }
    if (usecs < kMinTimestamp || usecs >= kEndTimestamp) return Parse::invalid;
    if (Parse r = round_to_typmod(type, usecs); r != Parse::ok) return r;
    out = usecs;
    return Parse::ok;
}

Parse parse_datetime_binary(const ColumnType& type, util::Bytes v, std::int64_t& out) {
    if (type.kind == TypeKind::date) {
        if (v.size() != 4) return Parse::invalid;
        const auto d = static_cast<std::int32_t>(util::read_u32_be(v.data()));
        if (d != kDateNoBegin && d != kDateNoEnd && (d < kMinDate || d >= kEndDate)) {
            return Parse::invalid;
        }
        out = d;
        return Parse::ok;
    }
    if (v.size() != 8) return Parse::invalid;
    const std::uint64_t u =
        (std::uint64_t{util::read_u32_be(v.data())} << 32) | util::read_u32_be(v.data() + 4);
    std::int64_t t = static_cast<std::int64_t>(u);
    if (t != kTimestampNoBegin && t != kTimestampNoEnd) {
        if (t < kMinTimestamp || t >= kEndTimestamp) return Parse::invalid;
        if (Parse r = round_to_typmod(type, t); r != Parse::ok) return r;
    }
    out = t;
    return Parse::ok;
}

}  // namespace uniqguard::guard::detail
