#include "guard/mysql_column_type.hpp"

#include <algorithm>
#include <limits>

namespace uniqguard::guard {

namespace {

std::uint32_t at_most_u32(std::uint64_t v) {
    return static_cast<std::uint32_t>(
        std::min<std::uint64_t>(v, std::numeric_limits<std::uint32_t>::max()));
}

}  // namespace

std::optional<MySqlKeyColumnType> mysql_key_column_type(const MySqlColumnInfo& info,
                                                        std::string& why) {
    MySqlKeyColumnType t;
    t.nullable = info.nullable;
    const std::string& type = info.data_type;
    const bool is_unsigned = info.column_type.find(" unsigned") != std::string::npos;
    const auto cannot = [&](std::string reason) -> std::optional<MySqlKeyColumnType> {
        why = std::move(reason);
        return std::nullopt;
    };

    const std::uint8_t integer_bytes = type == "tinyint"     ? 1
                                       : type == "smallint"  ? 2
                                       : type == "mediumint" ? 3
                                       : type == "int"       ? 4
                                       : type == "bigint"    ? 8
                                                             : 0;
    if (integer_bytes != 0) {
        t.kind = MySqlKeyColumnType::Kind::integer;
        t.integer = {integer_bytes, is_unsigned};
        return t;
    }
    if (type == "decimal") {
        if (!info.numeric_precision || !info.numeric_scale || *info.numeric_precision == 0 ||
            *info.numeric_precision > 65 || *info.numeric_scale > *info.numeric_precision)
            return cannot("type " + info.column_type +
                          " has no precision and scale the proxy "
                          "understands");
        t.kind = MySqlKeyColumnType::Kind::decimal;
        t.decimal = {static_cast<std::uint8_t>(*info.numeric_precision),
                     static_cast<std::uint8_t>(*info.numeric_scale), is_unsigned};
        return t;
    }
    const bool fixed = type == "char";
    const bool varying = type == "varchar";
    const bool text =
        type == "tinytext" || type == "text" || type == "mediumtext" || type == "longtext";
    if (fixed || varying || text) {
        if (!info.character_set || !info.collation || !info.max_length)
            return cannot("type " + info.column_type + " has no character set or length");
        if (*info.character_set == "binary")
            return cannot("binary strings (" + info.column_type +
                          ") cannot be compared by the proxy yet");
        t.kind = MySqlKeyColumnType::Kind::string;
        t.character_set = *info.character_set;
        t.collation = *info.collation;
        t.fixed_length = fixed;
        // CHAR/VARCHAR(n): n characters. The TEXT types: a limit in bytes, which also bounds
        // the characters.
        t.max_chars = at_most_u32(*info.max_length);
        if (text) t.max_bytes = at_most_u32(info.octet_length.value_or(*info.max_length));
        return t;
    }
    return cannot("type " + info.column_type + " cannot be compared by the proxy yet");
}

}  // namespace uniqguard::guard
