#include "sql/mysql_shape.hpp"

#include <cstdint>

namespace uniqguard::sql {
namespace {

// A length as four raw bytes: with every piece of the key preceded by its length, two
// different token sequences never give one key, whatever bytes their texts hold.
void append_length(std::string& key, std::size_t n) {
    const auto v = static_cast<std::uint32_t>(n);
    for (int shift = 0; shift < 32; shift += 8) key.push_back(static_cast<char>(v >> shift));
}

}  // namespace

bool is_mysql_literal_kind(MySqlTokenKind kind) {
    return is_string_kind(kind) || is_binary_literal_kind(kind) || is_number_kind(kind);
}

void mysql_shape(std::string_view sql, const MySqlDialect& dialect, std::string_view context,
                 MySqlShape& out) {
    out.key.clear();
    out.ok = !lex_mysql(sql, dialect, out.tokens);
    if (!out.ok) return;
    // The dialect decides how the text lexes; the caller's context how it is then read.
    out.key.push_back(dialect.no_backslash_escapes ? 'b' : '-');
    out.key.push_back(dialect.ansi_quotes ? 'a' : '-');
    out.key.push_back(dialect.empty_string_is_null ? 'e' : '-');
    out.key.push_back(dialect.mariadb ? 'm' : '-');
    append_length(out.key, dialect.server_version);
    append_length(out.key, context.size());
    out.key += context;
    for (const MySqlToken& t : out.tokens) {
        out.key.push_back(static_cast<char>('A' + static_cast<int>(t.kind)));
        if (is_mysql_literal_kind(t.kind)) continue;
        append_length(out.key, t.length);
        out.key += token_text(sql, t);
    }
}

}  // namespace uniqguard::sql
