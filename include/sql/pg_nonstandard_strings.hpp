// libpg_query reads '...' strings as the server does with standard_conforming_strings on: a
// backslash is an ordinary character. With it off the server reads `'it\'s'` as one string,
// libpg_query as a string and then an unterminated one: a syntax error, and the statement would
// pass the guard unread. So for such a session the text is handed to libpg_query with the inside
// of every plain string that holds a backslash masked (same length, no quote or backslash left):
// the token boundaries, and so every range of the analysis, are the server's. The masked
// strings' values are wrong in the analysis and must be decoded again from the client's text
// (decode_string_token with standard_conforming_strings off), as the guard does for every
// string under that setting.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace uniqguard::sql {

// `sql` with the plain strings that hold a backslash masked, read as the server reads them with
// standard_conforming_strings off; nullopt when there is none (parse `sql` itself).
std::optional<std::string> mask_backslash_strings(std::string_view sql);

}  // namespace uniqguard::sql
