// A MySQL/MariaDB guard's key columns, ready to key values: each column's type
// (mysql_column_type.hpp) and, for string columns, its collation's weights. Keys a value of one
// column, whether it comes from an INSERT's literal, a prepared statement's parameter, or the
// table itself when the key set is loaded (the text protocol's value: the stored value as the
// server writes it, strings in utf8mb4), so that all three give one key for one value.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "guard/collation_weights.hpp"
#include "guard/key_normalizer.hpp"
#include "guard/mysql_column_type.hpp"
#include "guard/mysql_integer_key.hpp"
#include "guard/mysql_string_key.hpp"
#include "protocol/mysql/stmt_execute.hpp"

namespace uniqguard::guard {

class MySqlKeyColumns {
  public:
    struct Column {
        std::string name;
        MySqlKeyColumnType type;
        // String columns: the weights of the column's collation (shared between the columns and
        // guards that use one collation: a table is 5-9 MiB).
        std::shared_ptr<const CollationWeights> weights;
    };

    explicit MySqlKeyColumns(std::vector<Column> columns) : columns_(std::move(columns)) {}

    std::size_t size() const { return columns_.size(); }
    const Column& column(std::size_t i) const { return columns_[i]; }

    // A literal (or a parameter read as one) for column `i`; strings as they came from a client
    // whose character set is `client`.
    NormalizedValue literal_key(std::size_t i, MySqlLiteral form, std::string_view text,
                                ClientCharset client) const;

    // A COM_STMT_EXECUTE parameter's value (binary protocol) for column `i`
    // (guard/mysql_param_key.hpp); strings as they came from a client whose character set is
    // `client`.
    NormalizedValue param_key(std::size_t i, protocol::mysql::ParamType type, util::Bytes value,
                              ClientCharset client) const;

    // A stored value as the text protocol gives it (nullopt: NULL), read with utf8mb4 results.
    NormalizedValue stored_key(std::size_t i, std::optional<std::string_view> value) const;

    // The encoded key of a row of stored values, in column order (key_fingerprint.hpp's
    // encoding), into `key`; false when a value cannot be keyed (`bad_column` says which).
    // `has_null`: some part is NULL.
    bool encode_stored_row(std::span<const std::optional<std::string_view>> values,
                           std::string& key, bool& has_null, std::size_t& bad_column) const;

  private:
    std::vector<Column> columns_;
};

}  // namespace uniqguard::guard
