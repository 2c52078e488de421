// Keys of string values under a MySQL/MariaDB collation, made from the server's own weights.
//
// Two strings are equal under a collation exactly when their weight strings are equal (after
// the trailing spaces a PAD SPACE collation ignores). Rather than re-implementing each
// collation's tables (general_ci's, UCA 4.0.0's, 5.2.0's, 14.0.0's, latin1's...), the proxy asks
// the server once for the weight of every code point (`WEIGHT_STRING` of each one-character
// string, converted to the column's character set as the server converts a value it stores) and
// builds a value's key by concatenating its characters' weights. Case and accent folding,
// expansions (`ß` weighs as `ss` in the Unicode collations), ignorable characters (no weight)
// and characters that all weigh the same (general_ci's supplementary characters) then follow
// the server by construction.
//
// That is exact for collations that compare one level of weights and have no contractions
// (character sequences weighed as one: Czech `ch`, Spanish-traditional `ll`). `finish` cannot
// see those: the guard's loader (not built yet) is to compare the server's WEIGHT_STRING of
// sample strings with `key` and refuse a collation where they differ (docs/mysql.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uniqguard::guard {

class CollationWeights {
  public:
    static constexpr char32_t max_code_point = 0x10FFFF;

    // `pad_space`: trailing spaces do not count (MariaDB: every collation but the `_nopad_`
    // ones and `binary`; the loader asks the server `'a' = 'a '`).
    explicit CollationWeights(bool pad_space);

    // The server's weight of the one-character string `cp`; code points in increasing order.
    // A code point never added has no key: the surrogates, which are not characters, and those
    // the column's character set cannot hold (latin1's `漢`), which the server stores as '?'
    // or refuses, by sql_mode: the loader leaves them out, so such values go to the server.
    void add(char32_t cp, std::string_view weight);
    // After the last add: false, with `error`, when the table cannot make keys (no weight for
    // the space, or weights that are not whole multiples of the space's width).
    bool finish(std::string& error);

    // The key of a value given as UTF-8: its characters' weights concatenated, the space's
    // weight removed from the end under PAD SPACE. nullopt for invalid UTF-8 and for a code
    // point without a weight.
    std::optional<std::string> key(std::string_view utf8) const;

    bool pad_space() const { return pad_space_; }
    std::size_t memory_bytes() const;

  private:
    bool pad_space_;
    std::string weights_;                 // every code point's weight, back to back
    std::vector<std::uint32_t> offsets_;  // code point → its weight's start; one more at the end
    std::vector<bool> present_;
    std::string space_;  // the weight of U+0020
    char32_t next_ = 0;
};

}  // namespace uniqguard::guard
