#include "quarantine_name.hpp"

#include <openssl/sha.h>

#include <cstdio>

namespace uniqguard::app::audit {

namespace {

bool continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Length of `s` in the limit's unit.
std::size_t measure(std::string_view s, bool in_bytes) {
    if (in_bytes) return s.size();
    std::size_t n = 0;
    for (unsigned char c : s) n += continuation(c) ? 0 : 1;
    return n;
}

// The longest prefix of `s` of at most `budget` units that ends on a character boundary.
std::string_view prefix(std::string_view s, std::size_t budget, bool in_bytes) {
    std::size_t units = 0, end = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (continuation(static_cast<unsigned char>(s[i]))) continue;
        // s[i] starts a character: everything before it is whole.
        if (units == budget) return s.substr(0, i);
        std::size_t len = 1;
        while (i + len < s.size() && continuation(static_cast<unsigned char>(s[i + len]))) ++len;
        const std::size_t cost = in_bytes ? len : 1;
        if (units + cost > budget) return s.substr(0, i);
        units += cost;
        end = i + len;
    }
    return s.substr(0, end);
}

}  // namespace

std::string quarantine_table_name(std::string_view table, std::size_t limit, bool limit_in_bytes) {
    std::string full = std::string(table) + std::string(quarantine_suffix);
    if (measure(full, limit_in_bytes) <= limit) return full;

    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(table.data()), table.size(), digest);
    char hash[10];
    std::snprintf(hash, sizeof hash, "_%02x%02x%02x%02x", digest[0], digest[1], digest[2],
                  digest[3]);
    const std::size_t fixed = 9 + quarantine_suffix.size();  // ASCII: bytes = characters
    const std::size_t budget = limit > fixed ? limit - fixed : 0;
    return std::string(prefix(table, budget, limit_in_bytes)) + hash +
           std::string(quarantine_suffix);
}

}  // namespace uniqguard::app::audit
