#include "guard/mysql_check_sql.hpp"

#include <cstdio>

namespace uniqguard::guard {

namespace {

constexpr char hex_digits[] = "0123456789ABCDEF";

void append_hex(std::string& out, std::string_view bytes) {
    out += "X'";
    for (unsigned char c : bytes) {
        out += hex_digits[c >> 4];
        out += hex_digits[c & 0x0F];
    }
    out += '\'';
}

// Canonical integer bytes (mysql_integer_key.hpp): 8 bytes big-endian.
std::string integer_text(const std::string& bytes, bool is_unsigned) {
    std::uint64_t v = 0;
    for (unsigned char c : bytes) v = (v << 8) | c;
    return is_unsigned ? std::to_string(v) : std::to_string(static_cast<std::int64_t>(v));
}

// Canonical DECIMAL bytes (mysql_decimal_key.hpp): '+' or '-', then the digits of value × 10^s
// without leading zeros (none for zero). The server shows the value with s decimals.
std::string decimal_text(const std::string& bytes, unsigned scale) {
    std::string digits = bytes.size() > 1 ? bytes.substr(1) : std::string("0");
    if (digits.size() <= scale) digits.insert(0, scale + 1 - digits.size(), '0');
    std::string out = bytes.starts_with("-") ? "-" : "";
    out += digits.substr(0, digits.size() - scale);
    if (scale > 0) out += "." + digits.substr(digits.size() - scale);
    return out;
}

// A character set or collation name from information_schema: letters, digits and underscores
// only, so it can stand unquoted (anything else would be a catalog the guard does not know).
bool plain_name(std::string_view name) {
    if (name.empty()) return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    return true;
}

// `%-.64T`: over 64 bytes, at most 61 bytes of whole UTF-8 characters and "...".
std::string truncated_entry(const std::string& entry) {
    constexpr std::size_t limit = 64;
    if (entry.size() <= limit) return entry;
    std::size_t cut = limit - 3;
    while (cut > 0 && (static_cast<unsigned char>(entry[cut]) & 0xC0) == 0x80) --cut;
    return entry.substr(0, cut) + "...";
}

}  // namespace

std::optional<std::string> mysql_key_part_text(const MySqlKeyColumnType& type,
                                               const NormalizedValue& part,
                                               std::string_view literal) {
    if (!part.ok()) return std::nullopt;
    using Kind = MySqlKeyColumnType::Kind;
    switch (type.kind) {
        case Kind::integer:
            return integer_text(part.bytes, type.integer.is_unsigned);
        case Kind::decimal:
            return decimal_text(part.bytes, type.decimal.scale);
        case Kind::string: {
            // A CHAR column gives its values back without trailing spaces (mysql_string_key.hpp).
            if (type.fixed_length) {
                const auto end = literal.find_last_not_of(' ');
                literal =
                    end == std::string_view::npos ? std::string_view{} : literal.substr(0, end + 1);
            }
            return std::string(literal);
        }
    }
    return std::nullopt;
}

std::string mysql_quote_identifier(std::string_view name) {
    std::string out = "`";
    for (char c : name) {
        if (c == '`') out += '`';
        out += c;
    }
    return out + "`";
}

std::string mysql_string_expression(std::string_view s) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out = "CONVERT(UNHEX('";
    for (const unsigned char c : s) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out + "') USING utf8mb4)";
}

std::string mysql_key_value_sql(const MySqlKeyColumns::Column& c, const std::string& value) {
    // Digits, a sign and a point: nothing to quote.
    if (c.type.kind != MySqlKeyColumnType::Kind::string) return value;
    // The client's bytes are UTF-8 (only utf8mb4/utf8mb3 strings are keyed); the server
    // converts them to the column's character set as it does when it stores them, and
    // compares in the column's collation, as its unique index would.
    const bool named = plain_name(c.type.character_set) && plain_name(c.type.collation);
    std::string out;
    if (named) out += "CONVERT(";
    out += "_utf8mb4 ";
    append_hex(out, value);
    if (named) out += " USING " + c.type.character_set + ") COLLATE " + c.type.collation;
    return out;
}

std::string mysql_key_condition(const MySqlKeyColumns& columns, const MySqlKeyText& key) {
    std::string out;
    for (std::size_t i = 0; i < columns.size(); ++i) {
        const auto& c = columns.column(i);
        if (!out.empty()) out += " AND ";
        out += mysql_quote_identifier(c.name);
        const auto& value = i < key.size() ? key[i] : std::nullopt;
        if (!value) {
            out += " IS NULL";
            continue;
        }
        out += " = " + mysql_key_value_sql(c, *value);
    }
    return out;
}

std::string mysql_exists_sql(const std::vector<MySqlKeyProbe>& probes,
                             std::string_view isolation_variable) {
    // CONCAT of one EXISTS is still a string: the reply has one shape whatever the count.
    std::string out = "SELECT CONCAT(";
    bool first = true;
    if (!isolation_variable.empty()) {
        out += "IF(" + std::string(isolation_variable) + " = 'REPEATABLE-READ', 'R', 'C')";
        first = false;
    }
    for (const auto& p : probes) {
        if (!first) out += ", ";
        first = false;
        out += "EXISTS(SELECT 1 FROM " + mysql_quote_identifier(p.schema) + "." +
               mysql_quote_identifier(p.table) + " WHERE " +
               mysql_key_condition(*p.columns, *p.key) + ")";
    }
    if (first) out += "''";
    return out + ")";
}

std::string mysql_duplicate_message(const MySqlKeyText& key, std::string_view key_name) {
    std::string entry;
    for (std::size_t i = 0; i < key.size(); ++i) {
        if (i > 0) entry += '-';
        entry += key[i] ? *key[i] : std::string("NULL");
    }
    // `%-.192s`: at most 192 bytes, no half character at the cut.
    std::size_t cut = key_name.size();
    if (cut > 192) {
        cut = 192;
        while (cut > 0 && (static_cast<unsigned char>(key_name[cut]) & 0xC0) == 0x80) --cut;
    }
    const std::string_view name = key_name.substr(0, cut);
    return "Duplicate entry '" + truncated_entry(entry) + "' for key '" + std::string(name) + "'";
}

std::string mysql_signal_sql(std::uint16_t error_number, std::string_view sqlstate,
                             std::string_view message) {
    std::string out = "SIGNAL SQLSTATE '";
    for (char c : sqlstate.substr(0, 5))
        if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) out += c;
    out += "' SET MYSQL_ERRNO = " + std::to_string(error_number) + ", MESSAGE_TEXT = _utf8mb4 ";
    append_hex(out, message);
    return out;
}

}  // namespace uniqguard::guard
