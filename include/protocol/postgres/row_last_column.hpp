// The proxy's upsert and late INSERT with RETURNING (guard::UpsertRewrite, LateInsertSql) return
// the client's RETURNING columns and some of the proxy's, last (the proposed row's number, the key
// columns). These take those columns out of a RowDescription or DataRow body, so that the client
// sees its own columns only.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "util/bytes.hpp"

namespace uniqguard::protocol::postgres {

// The whole message (type, length, body) without its last `count` fields / values; nullopt when
// `body` is malformed or has fewer columns than that.
std::optional<std::string> row_description_without_last(util::Bytes body, std::size_t count = 1);
std::optional<std::string> data_row_without_last(util::Bytes body, std::size_t count = 1);

}  // namespace uniqguard::protocol::postgres
