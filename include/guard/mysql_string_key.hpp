// The key of a MySQL/MariaDB string column (CHAR/VARCHAR/TEXT under a collation) from a string
// literal of an INSERT: the value the server stores, keyed under the column's collation
// (collation_weights.hpp).
//
// Only what the proxy can be sure of is keyed: a quoted string (its bytes, unescaped) sent on a
// utf8mb4 or utf8mb3 connection, no longer than the column. The server converts it to the
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
    std::uint32_t max_chars = 0;  // CHAR(n), VARCHAR(n): n; TEXT: 65535
    bool fixed_length = false;    // CHAR(n)
};

// `utf8_connection`: the session's character_set_client is utf8mb4 or utf8mb3.
NormalizedValue mysql_string_key(const MySqlStringColumn& column, std::string_view literal,
                                 bool utf8_connection);

}  // namespace uniqguard::guard
