// With standard_conforming_strings off, the server reads a plain '...' string exactly as an
// E'...' string: a backslash escapes (`'it\'s'` is one string). libpg_query, and every lexer
// pass of the proxy that does not know the session's setting, read it as with the setting on:
// `'it\'` and then an unterminated string, a syntax error, so such a statement would pass the
// guard unread. For such a session the guard works on the client's text with an E written
// before every plain string that holds a backslash: the same statement under the setting off,
// and read the same by every reader under either setting. Only the proxy's own statements built
// from it carry the E's (the server reads them as it reads the client's); a statement forwarded
// as it is goes as the client wrote it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace uniqguard::sql {

// `sql` with E before every plain string that holds a backslash, read as the server reads it
// with standard_conforming_strings off; nullopt when there is none (use `sql` itself).
std::optional<std::string> with_escape_string_prefixes(std::string_view sql);

}  // namespace uniqguard::sql
