// Loading a MySQL/MariaDB guard's key set at start: the key columns' types from
// information_schema, each string column's collation weights from the server (checked before
// use), then the table's keys, streamed. Over any client that can stream a query's rows
// (MySqlRowSource): the proxy's and the tests' own.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "guard/collation_weights.hpp"
#include "guard/key_set.hpp"
#include "guard/mysql_key_columns.hpp"
#include "guard/mysql_key_set_builder.hpp"

namespace uniqguard::guard {

using MySqlRow = std::span<const std::optional<std::string_view>>;

class MySqlRowSource {
  public:
    virtual ~MySqlRowSource() = default;
    // Runs `sql` and hands each row to `on_row` as the text protocol gives it (nullopt: NULL),
    // one at a time, results in utf8mb4. False, with `error`, when the query fails or `on_row`
    // returns false.
    virtual bool stream(const std::string& sql, const std::function<bool(MySqlRow)>& on_row,
                        std::string& error) = 0;
};

// Weights by collation name, shared by every guard that uses the collation.
using CollationWeightsCache = std::map<std::string, std::shared_ptr<const CollationWeights>>;

// The SELECT that reads a collation's weight of every code point, `charset` being the column's
// character set: rows (code point, weight in hex, '-' when empty, '!' for a character the set
// cannot hold).
std::string mysql_weights_sql(std::string_view charset, std::string_view collation);

// The key columns of `schema`.`table` in the guard's order, with their weights; nullopt with
// `error` when a column is missing, of a type the proxy does not key, or under a collation
// whose weights cannot make keys (contractions, several levels).
std::optional<MySqlKeyColumns> read_mysql_key_columns(MySqlRowSource& db, std::string_view schema,
                                                      std::string_view table,
                                                      const std::vector<std::string>& columns,
                                                      CollationWeightsCache& cache,
                                                      std::string& error);

// Streams the key columns of the table into `set`.
std::optional<MySqlLoadStats> load_mysql_key_set(MySqlRowSource& db, std::string_view schema,
                                                 std::string_view table,
                                                 const MySqlKeyColumns& columns,
                                                 bool nulls_distinct, std::uint64_t seed,
                                                 KeySet& set, std::string& error);

}  // namespace uniqguard::guard
