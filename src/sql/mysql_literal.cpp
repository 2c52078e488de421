// Literal values as MySQL / MariaDB read them (my_unescape of sql_lex.cc; Item_hex_hybrid and
// Item_bin_string for 0x.. and b'..'), and the session facts that change how text is lexed.
#include <cctype>

#include "sql/mysql_lexer.hpp"

namespace uniqguard::sql {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = lower(c);
    return c - 'a' + 10;
}

// The contents of a quoted token between its quotes, with `''` (or `""`) undone and, when
// `backslash` is set, the server's escapes: \0 \b \n \r \t \Z stand for control characters,
// \% and \_ keep their backslash (LIKE patterns need it), any other \c is c.
std::string unescape(std::string_view body, char quote, bool backslash) {
    std::string out;
    out.reserve(body.size());
    for (std::size_t i = 0; i < body.size(); ++i) {
        const char c = body[i];
        if (backslash && c == '\\' && i + 1 < body.size()) {
            const char e = body[++i];
            switch (e) {
                case 'n':
                    out.push_back('\n');
                    break;
                case 't':
                    out.push_back('\t');
                    break;
                case 'r':
                    out.push_back('\r');
                    break;
                case 'b':
                    out.push_back('\b');
                    break;
                case '0':
                    out.push_back('\0');
                    break;
                case 'Z':
                    out.push_back('\032');
                    break;
                case '_':
                case '%':
                    out.push_back('\\');
                    out.push_back(e);
                    break;
                default:
                    out.push_back(e);
                    break;
            }
        } else if (c == quote && i + 1 < body.size() && body[i + 1] == quote) {
            out.push_back(quote);
            ++i;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

// Hex digits to bytes; an odd count gets a leading zero nibble (0x123 is 01 23).
std::string hex_bytes(std::string_view digits) {
    std::string out;
    std::size_t i = 0;
    if (digits.size() % 2 != 0) {
        out.push_back(static_cast<char>(hex_digit(digits[0])));
        i = 1;
    }
    for (; i < digits.size(); i += 2) {
        out.push_back(static_cast<char>(hex_digit(digits[i]) * 16 + hex_digit(digits[i + 1])));
    }
    return out;
}

// Bits to bytes, right-aligned: b'1' is 01, b'100000001' is 01 01, b'' is empty.
std::string bit_bytes(std::string_view bits) {
    std::string out;
    const std::size_t head = bits.size() % 8;
    std::size_t i = 0;
    auto take = [&](std::size_t n) {
        unsigned v = 0;
        for (std::size_t k = 0; k < n; ++k) v = v * 2 + static_cast<unsigned>(bits[i + k] - '0');
        out.push_back(static_cast<char>(v));
        i += n;
    };
    if (head != 0) take(head);
    while (i < bits.size()) take(8);
    return out;
}

bool has_mode(std::string_view modes, std::string_view wanted) {
    std::size_t i = 0;
    while (i <= modes.size()) {
        std::size_t comma = modes.find(',', i);
        if (comma == std::string_view::npos) comma = modes.size();
        std::string_view m = modes.substr(i, comma - i);
        while (!m.empty() && std::isspace(static_cast<unsigned char>(m.front())))
            m.remove_prefix(1);
        while (!m.empty() && std::isspace(static_cast<unsigned char>(m.back()))) m.remove_suffix(1);
        if (m.size() == wanted.size()) {
            bool same = true;
            for (std::size_t k = 0; k < m.size(); ++k) {
                if (lower(m[k]) != lower(wanted[k])) same = false;
            }
            if (same) return true;
        }
        i = comma + 1;
    }
    return false;
}

// "10.11.6" at the front of `v`: major * 10000 + minor * 100 + patch; 0 when not a version.
std::uint32_t version_number(std::string_view v) {
    std::uint32_t parts[3] = {0, 0, 0};
    std::size_t i = 0;
    for (int p = 0; p < 3; ++p) {
        if (i >= v.size() || !std::isdigit(static_cast<unsigned char>(v[i]))) return 0;
        std::uint32_t n = 0;
        while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i])) && n < 10000) {
            n = n * 10 + static_cast<std::uint32_t>(v[i] - '0');
            ++i;
        }
        parts[p] = n;
        if (p < 2) {
            if (i >= v.size() || v[i] != '.') return 0;
            ++i;
        }
    }
    if (parts[1] > 99 || parts[2] > 99) return 0;
    return parts[0] * 10000 + parts[1] * 100 + parts[2];
}

}  // namespace

void apply_sql_mode(MySqlDialect& dialect, std::string_view sql_mode) {
    dialect.no_backslash_escapes = has_mode(sql_mode, "no_backslash_escapes");
    dialect.empty_string_is_null = has_mode(sql_mode, "empty_string_is_null");
    dialect.ansi_quotes = false;
    for (std::string_view m :
         {"ansi_quotes", "ansi", "db2", "maxdb", "mssql", "oracle", "postgresql"}) {
        if (has_mode(sql_mode, m)) dialect.ansi_quotes = true;
    }
}

std::optional<MySqlDialect> dialect_for_server(std::string_view version) {
    MySqlDialect d;
    const bool mariadb = version.find("MariaDB") != std::string_view::npos;
    // MariaDB before 11 announced itself as "5.5.5-10.x.y-MariaDB" to please old replicas.
    if (mariadb && version.substr(0, 6) == "5.5.5-") version.remove_prefix(6);
    const std::uint32_t n = version_number(version);
    if (n == 0) return std::nullopt;
    d.mariadb = mariadb;
    d.server_version = n;
    return d;
}

std::optional<std::string> decode_mysql_literal(std::string_view t, MySqlTokenKind kind,
                                                const MySqlDialect& dialect) {
    switch (kind) {
        case MySqlTokenKind::string:
            if (t.size() < 2 || t.front() != t.back()) return std::nullopt;
            return unescape(t.substr(1, t.size() - 2), t.front(), !dialect.no_backslash_escapes);
        case MySqlTokenKind::national_string:
            if (t.size() < 3 || t[1] != '\'' || t.back() != '\'') return std::nullopt;
            return unescape(t.substr(2, t.size() - 3), '\'', !dialect.no_backslash_escapes);
        case MySqlTokenKind::hex_string:
            if (t.size() < 3) return std::nullopt;
            return hex_bytes(t.substr(2, t.size() - 3));
        case MySqlTokenKind::bit_string:
            if (t.size() < 3) return std::nullopt;
            return bit_bytes(t.substr(2, t.size() - 3));
        case MySqlTokenKind::hex_number:
            if (t.size() < 3) return std::nullopt;
            return hex_bytes(t.substr(2));
        case MySqlTokenKind::bit_number:
            if (t.size() < 3) return std::nullopt;
            return bit_bytes(t.substr(2));
        default:
            return std::nullopt;
    }
}

std::string identifier_name(std::string_view t, MySqlTokenKind kind) {
    if (kind != MySqlTokenKind::quoted_identifier || t.size() < 2) return std::string(t);
    const char q = t.front();
    std::string out;
    out.reserve(t.size() - 2);
    for (std::size_t i = 1; i + 1 < t.size(); ++i) {
        out.push_back(t[i]);
        if (t[i] == q && t[i + 1] == q) ++i;
    }
    return out;
}

}  // namespace uniqguard::sql
