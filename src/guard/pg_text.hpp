// Character tests as PostgreSQL's input functions make them. The server calls isspace() and
// isdigit() under its LC_CTYPE; in the C locale and in glibc's UTF-8 locales only ASCII bytes
// pass them, which is what these do. (A single-byte server locale where 0xA0 is a space is
// handled by the caller: non-ASCII input to a non-text type is `cannot_normalize` there.)
#pragma once

#include <cstddef>
#include <string_view>

namespace uniqguard::guard::detail {

constexpr bool pg_isspace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

inline bool all_pg_space(std::string_view s) {
    for (char c : s) {
        if (!pg_isspace(c)) return false;
    }
    return true;
}

inline std::string_view trim_pg_space(std::string_view s) {
    while (!s.empty() && pg_isspace(s.front())) s.remove_prefix(1);
    while (!s.empty() && pg_isspace(s.back())) s.remove_suffix(1);
    return s;
}

// pg_utf8_islegal over the whole string (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF).
// NUL is left to the caller.
bool valid_utf8(std::string_view s);

// Byte length of the first `chars` characters of valid UTF-8 (pg_mbcharcliplen); the whole
// length when the string is shorter.
std::size_t utf8_prefix_bytes(std::string_view s, std::size_t chars);

}  // namespace uniqguard::guard::detail
