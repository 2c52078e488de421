// The proxy's upsert (guard::UpsertRewrite) returns the client's RETURNING columns and one more,
// last: the proposed row's number, by which its rows are ordered. These take that column out of
// a RowDescription or DataRow body, so that the client sees its own columns only.
#pragma once

#include <optional>
#include <string>

#include "util/bytes.hpp"

namespace uniqguard::protocol::postgres {

// The whole message (type, length, body) without its last field / value; nullopt when `body`
// is malformed or has no column.
std::optional<std::string> row_description_without_last(util::Bytes body);
std::optional<std::string> data_row_without_last(util::Bytes body);

}  // namespace uniqguard::protocol::postgres
