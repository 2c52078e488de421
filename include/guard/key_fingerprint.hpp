// A 64-bit fingerprint of a composite key: the key set stores these instead of the keys
// (≤ 16 bytes per key whatever the key's width, SPEC §7). Two equal keys always have the same
// fingerprint; two different keys share one with probability ~2^-64 per pair, and a shared
// fingerprint only makes the caller confirm with the server before it reports a duplicate.
//
// The hashed bytes, per column in key order: 0x00 for NULL; 0x01, the part's length as a
// big-endian uint32, then its canonical bytes (key_normalizer.hpp). Length prefixes keep
// ('ab', 'c') apart from ('a', 'bc'), and NULL apart from every value, '' included (for
// nulls_distinct = false, where NULLs compare equal). Hash: XXH3_64bits (with a seed, when one is
// given: a per-process seed keeps fingerprints unpredictable to clients, which matters to the
// set's probing, not to correctness). 0 is reserved by KeySet and never returned.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "guard/key_normalizer.hpp"

namespace uniqguard::guard {

// Appends one part's encoding to `key`. Only ok and null parts can be encoded: false (and
// `key` unchanged) for invalid / cannot_normalize.
bool append_key_part(std::string& key, const NormalizedValue& part);
void append_key_null(std::string& key);
void append_key_bytes(std::string& key, std::string_view canonical);

// The fingerprint of an encoded key (the concatenated parts); never 0.
std::uint64_t fingerprint_encoded_key(std::string_view encoded, std::uint64_t seed = 0);

// The fingerprint of a whole key; nullopt if a part is invalid or cannot_normalize.
std::optional<std::uint64_t> key_fingerprint(std::span<const NormalizedValue> parts,
                                             std::uint64_t seed = 0);

// Whether any part is NULL: with nulls_distinct (the default) such a key never conflicts.
bool key_has_null(std::span<const NormalizedValue> parts);

}  // namespace uniqguard::guard
