// Pieces of SQL text the proxy's own queries need, built so that no configured name can change
// a statement's meaning: identifiers are always double-quoted, values go in as parameters ($n),
// and patterns built from names escape every special character. Plus readers of the text
// forms of catalog arrays. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace uniqguard::pgclient {

// "name" with embedded quotes doubled: the server reads exactly `name`, whatever it contains
// (quote_ident's escaping, applied always: it never depends on the server's keyword list).
std::string quote_identifier(std::string_view name);
// "schema"."table", or "table" when schema is empty.
std::string quote_qualified(std::string_view schema, std::string_view name);

// A LIKE/ILIKE pattern matching any text that contains `text` (%, _ and \ escaped).
std::string like_contains_pattern(std::string_view text);
// A regular expression (PostgreSQL ARE) matching `word` as a whole identifier: not preceded
// or followed by a letter, digit, '_' or '$'. Every regex metacharacter of `word` is escaped.
std::string identifier_word_regex(std::string_view word);

// "1 3 2" (int2vector) -> {1, 3, 2}; nullopt when malformed.
std::optional<std::vector<int>> parse_int_vector(std::string_view text);
// "{1,3,2}" (int2[]) -> {1, 3, 2}; "" or "{}" -> {}; nullopt when malformed.
std::optional<std::vector<int>> parse_int_array(std::string_view text);

}  // namespace uniqguard::pgclient
