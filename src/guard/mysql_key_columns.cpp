#include "guard/mysql_key_columns.hpp"

#include <limits>

#include "guard/key_fingerprint.hpp"
#include "guard/mysql_decimal_key.hpp"
#include "guard/mysql_param_key.hpp"

namespace uniqguard::guard {

NormalizedValue MySqlKeyColumns::literal_key(std::size_t i, MySqlLiteral form,
                                             std::string_view text, ClientCharset client) const {
    const Column& c = columns_[i];
    using Kind = MySqlKeyColumnType::Kind;
    switch (c.type.kind) {
        case Kind::integer:
            return mysql_integer_key(c.type.integer, form, text);
        case Kind::decimal:
            return mysql_decimal_key(c.type.decimal, form, text);
        case Kind::string: {
            if (form != MySqlLiteral::string) return {NormalizeStatus::cannot_normalize, {}};
            const MySqlStringColumn column{c.weights.get(), c.type.max_chars, c.type.max_bytes,
                                           c.type.fixed_length};
            return mysql_string_key(column, text, client);
        }
    }
    return {NormalizeStatus::cannot_normalize, {}};
}

NormalizedValue MySqlKeyColumns::param_key(std::size_t i, protocol::mysql::ParamType type,
                                           util::Bytes value, ClientCharset client) const {
    const Column& c = columns_[i];
    using Kind = MySqlKeyColumnType::Kind;
    switch (c.type.kind) {
        case Kind::integer:
            return mysql_integer_param_key(c.type.integer, type, value);
        case Kind::decimal:
            return mysql_decimal_param_key(c.type.decimal, type, value);
        case Kind::string: {
            const MySqlStringColumn column{c.weights.get(), c.type.max_chars, c.type.max_bytes,
                                           c.type.fixed_length};
            return mysql_string_param_key(column, type, value, client);
        }
    }
    return {NormalizeStatus::cannot_normalize, {}};
}

NormalizedValue MySqlKeyColumns::stored_key(std::size_t i,
                                            std::optional<std::string_view> value) const {
    if (!value) return NormalizedValue::null();
    // The server writes a stored integer or DECIMAL as its exact digits ("-7", "0000000007" with
    // ZEROFILL, "1.50"), and a stored string as itself: each keys as that literal would. A
    // stored string fits its column by definition; its length limits are not checked (a latin1
    // TEXT value is longer in utf8mb4 than in the table).
    const Column& c = columns_[i];
    if (c.type.kind != MySqlKeyColumnType::Kind::string)
        return literal_key(i, MySqlLiteral::exact_number, *value, ClientCharset::utf8mb4);
    const MySqlStringColumn unbounded{c.weights.get(), std::numeric_limits<std::uint32_t>::max(), 0,
                                      c.type.fixed_length};
    return mysql_string_key(unbounded, *value, ClientCharset::utf8mb4);
}

bool MySqlKeyColumns::encode_stored_row(std::span<const std::optional<std::string_view>> values,
                                        std::string& key, bool& has_null,
                                        std::size_t& bad_column) const {
    key.clear();
    has_null = false;
    for (std::size_t i = 0; i < columns_.size(); ++i) {
        const auto part = stored_key(i, i < values.size() ? values[i] : std::nullopt);
        if (part.status == NormalizeStatus::null) {
            has_null = true;
            append_key_null(key);
        } else if (!append_key_part(key, part)) {
            bad_column = i;
            return false;
        }
    }
    return true;
}

}  // namespace uniqguard::guard
