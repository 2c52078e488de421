#include "guard/key_fingerprint.hpp"

#include <xxhash.h>

namespace uniqguard::guard {

void append_key_null(std::string& key) { key.push_back('\0'); }

void append_key_bytes(std::string& key, std::string_view canonical) {
    const auto n = static_cast<std::uint32_t>(canonical.size());
    const char header[5] = {'\1', static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                            static_cast<char>(n >> 8), static_cast<char>(n)};
    key.append(header, sizeof header);
    key.append(canonical);
}

bool append_key_part(std::string& key, const NormalizedValue& part) {
    switch (part.status) {
        case NormalizeStatus::null:
            append_key_null(key);
            return true;
        case NormalizeStatus::ok:
            append_key_bytes(key, part.bytes);
            return true;
        case NormalizeStatus::invalid:
        case NormalizeStatus::cannot_normalize:
            return false;
    }
    return false;
}

std::uint64_t fingerprint_encoded_key(std::string_view encoded, std::uint64_t seed) {
    const XXH64_hash_t h = seed == 0 ? XXH3_64bits(encoded.data(), encoded.size())
                                     : XXH3_64bits_withSeed(encoded.data(), encoded.size(), seed);
    // 0 marks an empty slot in KeySet; folding it onto 1 costs one extra possible collision.
    return h == 0 ? 1 : h;
}

std::optional<std::uint64_t> key_fingerprint(std::span<const NormalizedValue> parts,
                                             std::uint64_t seed) {
    std::string key;
    std::size_t size = 0;
    for (const auto& p : parts) size += 5 + p.bytes.size();
    key.reserve(size);
    for (const auto& p : parts) {
        if (!append_key_part(key, p)) return std::nullopt;
    }
    return fingerprint_encoded_key(key, seed);
}

bool key_has_null(std::span<const NormalizedValue> parts) {
    for (const auto& p : parts) {
        if (p.status == NormalizeStatus::null) return true;
    }
    return false;
}

}  // namespace uniqguard::guard
