#include "guard/mysql_insert_keys.hpp"

#include <algorithm>
#include <cctype>

namespace uniqguard::guard {

namespace {

bool same_name(std::string_view a, std::string_view b) {
    // MySQL column names compare case-insensitively.
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// The character set an introducer names, as ClientCharset (utf8 is utf8mb3 in MariaDB 10.11
// under its default old_mode, and in MySQL 8).
std::optional<ClientCharset> introduced_charset(std::string_view introducer) {
    if (introducer == "utf8mb4") return ClientCharset::utf8mb4;
    if (introducer == "utf8mb3" || introducer == "utf8") return ClientCharset::utf8mb3;
    return std::nullopt;
}

bool introducer_reads_as_session(std::string_view introducer, ClientCharset session,
                                 std::string_view text) {
    const auto named = introduced_charset(introducer);
    if (!named || session == ClientCharset::other) return false;
    if (*named == session) return true;
    // utf8mb4 and utf8mb3 encode the BMP alike; a lead byte 0xF0-0xF4 starts a 4-byte
    // character, which one of them reads and the other does not (any byte >= 0xF0 is refused).
    return std::none_of(text.begin(), text.end(),
                        [](char c) { return static_cast<unsigned char>(c) >= 0xF0; });
}

}  // namespace

std::optional<MySqlLiteralOf> mysql_literal_of(const sql::Value& value, std::string_view sql,
                                               ClientCharset session) {
    using K = sql::ValueKind;
    switch (value.kind) {
        case K::literal_number:
            return MySqlLiteralOf{value.text.find_first_of("eE") == std::string::npos
                                      ? MySqlLiteral::exact_number
                                      : MySqlLiteral::approximate_number,
                                  value.text};
        case K::literal_bool:
            return MySqlLiteralOf{MySqlLiteral::boolean, value.text == "true" ? "1" : "0"};
        case K::literal_string: {
            if (!value.charset_introducer.empty() &&
                (value.form != sql::LiteralForm::quoted ||
                 !introducer_reads_as_session(value.charset_introducer, session, value.text)))
                return std::nullopt;
            if (value.form == sql::LiteralForm::quoted)
                return MySqlLiteralOf{MySqlLiteral::string, value.text};
            if (value.form == sql::LiteralForm::bit)
                return MySqlLiteralOf{MySqlLiteral::bit, value.text};
            // 0x41 is a number in a numeric context; X'41' is a string of bytes.
            const auto spelled = value.literal.text(sql);
            const bool number =
                spelled.size() > 1 && spelled[0] == '0' && (spelled[1] == 'x' || spelled[1] == 'X');
            return MySqlLiteralOf{number ? MySqlLiteral::hex_number : MySqlLiteral::hex_string,
                                  value.text};
        }
        default:
            return std::nullopt;
    }
}

std::optional<std::vector<MySqlRowKey>> mysql_insert_row_keys(
    const sql::InsertStatement& insert, std::string_view sql,
    const std::vector<std::string>& table_columns, const MySqlKeyColumns& keys,
    ClientCharset client, std::string& why, std::span<const protocol::mysql::ExecuteParam> params,
    bool empty_string_is_null) {
    if (insert.select_source || insert.default_values) {
        why = "the rows come from a query";
        return std::nullopt;
    }
    if (insert.column_indirection) {
        why = "a column is written in part";
        return std::nullopt;
    }
    const auto& columns = insert.columns.empty() ? table_columns : insert.columns;
    // Where each key column's value is in a row (npos: not written, its DEFAULT applies).
    std::vector<std::size_t> position(keys.size(), std::string::npos);
    for (std::size_t k = 0; k < keys.size(); ++k)
        for (std::size_t c = 0; c < columns.size(); ++c)
            if (same_name(columns[c], keys.column(k).name)) position[k] = c;

    std::vector<MySqlRowKey> out;
    out.reserve(insert.rows.size());
    for (const auto& row : insert.rows) {
        MySqlRowKey key;
        key.reserve(keys.size());
        for (std::size_t k = 0; k < keys.size(); ++k) {
            const std::size_t p = position[k];
            if (p >= row.size()) {  // DEFAULT of a column left out, or a ragged row
                key.push_back({NormalizeStatus::cannot_normalize, {}});
                continue;
            }
            const sql::Value& v = row[p];
            if (v.kind == sql::ValueKind::null) {
                key.push_back(keys.column(k).type.nullable
                                  ? NormalizedValue::null()
                                  : NormalizedValue{NormalizeStatus::cannot_normalize, {}});
                continue;
            }
            if (v.kind == sql::ValueKind::parameter && v.parameter >= 1 &&
                static_cast<std::size_t>(v.parameter) <= params.size()) {
                const auto& param = params[static_cast<std::size_t>(v.parameter) - 1];
                // Long data first: the server does not read the NULL bit of such a parameter.
                if (param.long_data && !param.long_data_kept)
                    key.push_back({NormalizeStatus::cannot_normalize, {}});
                else if (param.is_null && !param.long_data)
                    key.push_back(keys.column(k).type.nullable
                                      ? NormalizedValue::null()
                                      : NormalizedValue{NormalizeStatus::cannot_normalize, {}});
                else if (empty_string_is_null && param.value.empty() &&
                         protocol::mysql::is_string_type(param.type.type))
                    key.push_back({NormalizeStatus::cannot_normalize, {}});
                else if (param.long_data && !protocol::mysql::is_string_type(param.type.type))
                    // MariaDB takes long data only for string and BLOB parameters (it fails
                    // the execute otherwise).
                    key.push_back({NormalizeStatus::cannot_normalize, {}});
                else
                    key.push_back(keys.param_key(k, param.type, param.value, client));
                continue;
            }
            const auto literal = mysql_literal_of(v, sql, client);
            key.push_back(literal ? keys.literal_key(k, literal->form, literal->text, client)
                                  : NormalizedValue{NormalizeStatus::cannot_normalize, {}});
        }
        out.push_back(std::move(key));
    }
    return out;
}

}  // namespace uniqguard::guard
