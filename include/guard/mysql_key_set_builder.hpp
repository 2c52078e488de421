// Builds a MySQL/MariaDB guard's key set from the table's rows (the MySQL counterpart of
// key_set_loader.hpp): the caller streams `SELECT k1, k2 FROM t` (mysql_use_result: one row at
// a time, never the table in one result) with utf8mb4 results and feeds each row; every key is
// encoded by MySqlKeyColumns::encode_stored_row, fingerprinted with `seed` as the proxy
// fingerprints the same key in an INSERT, and added in batches (KeySet::add_many), so a legacy
// duplicate counts twice.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "guard/key_set.hpp"
#include "guard/mysql_key_columns.hpp"

namespace uniqguard::guard {

struct MySqlLoadStats {
    std::uint64_t rows = 0;
    std::uint64_t rows_with_null = 0;         // not in the set when nulls are distinct
    std::uint64_t distinct_fingerprints = 0;  // new to the set in this load
    std::chrono::steady_clock::duration elapsed{};
    std::size_t memory_bytes = 0;
};

class MySqlKeySetBuilder {
  public:
    MySqlKeySetBuilder(const MySqlKeyColumns& columns, bool nulls_distinct, std::uint64_t seed,
                       KeySet& set);

    // One row of stored values in key column order (nullopt: NULL). False, with error(), when a
    // value cannot be keyed as the proxy keys it in a statement: the load must fail (the message
    // names the column and the row number, never the value).
    bool add_row(std::span<const std::optional<std::string_view>> values);
    // After the last row: adds what is batched.
    MySqlLoadStats finish();

    const std::string& error() const { return error_; }

  private:
    void flush();

    const MySqlKeyColumns& columns_;
    bool nulls_distinct_;
    std::uint64_t seed_;
    KeySet& set_;
    std::vector<std::uint64_t> batch_;
    std::string key_;
    std::string error_;
    MySqlLoadStats stats_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace uniqguard::guard
