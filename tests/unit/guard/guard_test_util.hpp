// Helpers for the guard unit tests: column types by name, canonical key bytes built by hand (as
// key_normalizer.hpp documents them), binary values built by hand.
#pragma once

#include <catch2/catch.hpp>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>

#include "guard/column_type.hpp"
#include "guard/key_normalizer.hpp"

namespace guard_test {

using namespace uniqguard::guard;

inline ColumnType type(std::string_view name) {
    auto t = column_type_from_catalog(name, true);
    if (!t) throw std::invalid_argument(std::string(name));
    return *t;
}

inline std::string be(std::uint64_t v, int bytes) {
    std::string s;
    for (int i = bytes - 1; i >= 0; --i) s.push_back(static_cast<char>(v >> (8 * i)));
    return s;
}

inline NormalizedValue ok(std::string bytes) {
    return {.status = NormalizeStatus::ok, .bytes = std::move(bytes)};
}
inline const NormalizedValue kInvalid{.status = NormalizeStatus::invalid};
inline const NormalizedValue kUnsure{.status = NormalizeStatus::cannot_normalize};

// int2/int4/int8: big-endian int64.
inline NormalizedValue int_key(std::int64_t v) { return ok(be(static_cast<std::uint64_t>(v), 8)); }

// numeric 0.<digits> × 10^e with a sign.
inline NormalizedValue numeric_key(char sign, std::int32_t e, std::string_view digits) {
    return ok(std::string(1, sign) + be(static_cast<std::uint32_t>(e), 4) + std::string(digits));
}
inline NormalizedValue numeric_special(char tag) { return ok(std::string(1, tag)); }

inline NormalizedValue date_key(std::int32_t days) {
    return ok(be(static_cast<std::uint32_t>(days), 4));
}
inline NormalizedValue ts_key(std::int64_t usecs) {
    return ok(be(static_cast<std::uint64_t>(usecs), 8));
}

// Days since 2000-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
inline std::int64_t days(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468 - 10957;
}
inline std::int64_t usecs(std::int64_t y, unsigned mo, unsigned d, int h, int mi, int s,
                          std::int64_t us = 0) {
    return ((days(y, mo, d) * 24 + h) * 60 + mi) * 60 * 1000000 + s * 1000000LL + us;
}

inline std::string bytes(std::initializer_list<int> b) {
    std::string s;
    for (int v : b) s.push_back(static_cast<char>(v));
    return s;
}

// numeric's send format: ndigits, weight, sign, dscale, base-10000 digits.
inline std::string numeric_binary(std::int16_t weight, std::uint16_t sign, std::uint16_t dscale,
                                  std::initializer_list<int> digits) {
    std::string s = be(digits.size(), 2) + be(static_cast<std::uint16_t>(weight), 2) + be(sign, 2) +
                    be(dscale, 2);
    for (int d : digits) s += be(static_cast<std::uint16_t>(d), 2);
    return s;
}

inline uniqguard::util::Bytes util_bytes(const std::string& s) {
    return uniqguard::util::as_bytes(s);
}

inline NormalizedValue text(
    std::string_view type_name, std::string_view value,
    const SessionContext& session = SessionContext::from_settings("UTC", "ISO, MDY")) {
    return normalize_text(type(type_name), value, session);
}
inline NormalizedValue binary(std::string_view type_name, std::string_view value) {
    return normalize_binary(type(type_name), uniqguard::util::as_bytes(value),
                            SessionContext::from_settings("UTC", "ISO, MDY"));
}

}  // namespace guard_test

namespace Catch {
template <>
struct StringMaker<uniqguard::guard::NormalizedValue> {
    static std::string convert(const uniqguard::guard::NormalizedValue& v) {
        static constexpr char kHex[] = "0123456789abcdef";
        std::string s(uniqguard::guard::to_string(v.status));
        if (v.status == uniqguard::guard::NormalizeStatus::ok) {
            s += " ";
            for (unsigned char c : v.bytes) {
                s.push_back(kHex[c >> 4]);
                s.push_back(kHex[c & 15]);
            }
        }
        return s;
    }
};
}  // namespace Catch
