// The key of a MySQL/MariaDB integer column (TINYINT … BIGINT, SIGNED or UNSIGNED) from a literal
// of an INSERT, as the server stores it (MariaDB 10.11, measured against the server itself:
// tests/integration/test_mysql_number_keys.py).
//
// What the server does with each literal form, and so what this does:
//   - an exact number (`7`, `-7`, `007`, `7.5`, `.5`, `5.`): a DECIMAL, rounded half away from
//     zero (`2.5` → 3, `-7.5` → -8);
//   - an approximate number (`1e1`, `2.5e0`): a DOUBLE, rounded half to even (`2.5e0` → 2);
//     only values a double holds exactly enough to be sure (15 significant digits, below 2^53)
//     are keyed, the rest are left to the server;
//   - a string (`'7'`, `' -7.5 '`, `'1e1'`): spaces, tabs, CR and LF around it are skipped and
//     the number is read as an exact decimal, exponent included (`'2.5e0'` → 3), when its
//     mantissa has at most 18 digits (with more the server's reading overflows);
//   - `0x10` → 16 and `b'101'` → 5 (the bytes as an unsigned big-endian number, at most 8 of
//     them: a longer literal is out of range even with leading zeros); `X'10'` is a string of
//     bytes, which the server refuses;
//   - a negative number into an UNSIGNED column is out of range even when it rounds to 0;
//   - TRUE / FALSE → 1 / 0.
// Anything else, and any value out of the column's range, is `cannot_normalize`: whether the
// server refuses it or clamps/truncates it with a warning depends on the session's sql_mode, so
// the server decides. Canonical bytes: 8 bytes big-endian, the int64 two's complement for
// SIGNED columns, the uint64 for UNSIGNED ones (one column's keys always share one form).
#pragma once

#include <cstdint>
#include <string_view>

#include "guard/key_normalizer.hpp"

namespace uniqguard::guard {

struct MySqlIntegerColumn {
    std::uint8_t bytes = 4;  // TINYINT 1, SMALLINT 2, MEDIUMINT 3, INT 4, BIGINT 8
    bool is_unsigned = false;
};

enum class MySqlLiteral : std::uint8_t {
    exact_number,        // 7, -7.5: `text` as written (a folded unary minus in front)
    approximate_number,  // 1e1, -2.5E-3
    string,              // '…': `text` is the string's bytes, unescaped
    hex_number,          // 0x10: `text` is the bytes
    bit,                 // b'101': `text` is the bytes
    hex_string,          // X'10': `text` is the bytes
    boolean,             // TRUE / FALSE: `text` is "1" or "0"
};

NormalizedValue mysql_integer_key(const MySqlIntegerColumn& column, MySqlLiteral literal,
                                  std::string_view text);

}  // namespace uniqguard::guard
