// The key of a MySQL/MariaDB string column (CHAR/VARCHAR/TEXT under a collation) from a string
// literal of an INSERT: the value the server stores, keyed under the column's collation
// (collation_weights.hpp).
//
// Only what the proxy can be sure of is keyed: a quoted string (its bytes, unescaped) sent on a
// utf8mb4 connection, or on a utf8mb3 one without 4-byte sequences (which utf8mb3 does not
// have: the server refuses them or stores '?'), no longer than the column in characters and,
// for the TEXT types, in bytes. The server converts it to the
// column's character set itself (a character latin1 cannot hold becomes '?', or an error in
// strict mode), and the weights table already went through that conversion, so no conversion
// happens here. A CHAR(n) column gives its values back without trailing spaces, so they are
// cut before keying (under a NO PAD collation they would otherwise count). Numbers, 0x/X''/b''
// literals, introducers, other connection character sets, and values longer than the column
// (an error in strict mode, truncation otherwise) are left to the server.
#pragma once

#include <cstdint>
#include <string_view>

#include "guard/collation_weights.hpp"
#include "guard/key_normalizer.hpp"

namespace uniqguard::guard {

struct MySqlStringColumn {
    const CollationWeights* weights = nullptr;
    std::uint32_t max_chars = 0;  // CHAR(n), VARCHAR(n): n; the TEXT types: their byte limit
    // TINYTEXT 255, TEXT 65,535, MEDIUMTEXT 16,777,215 bytes (0: no byte limit). The value's
    // UTF-8 length is compared with it: never less than what a utf8mb4, utf8mb3 or latin1
    // column stores, so a value that may not fit is left to the server.
    std::uint32_t max_bytes = 0;
    bool fixed_length = false;  // CHAR(n)
};

// The session's character_set_client, as far as string keys care.
enum class ClientCharset : std::uint8_t { utf8mb4, utf8mb3, other };

NormalizedValue mysql_string_key(const MySqlStringColumn& column, std::string_view literal,
                                 ClientCharset client);

}  // namespace uniqguard::guard
