// CommandComplete tags ("INSERT 0 5", "COPY 12"): their row count read, and added to. For the
// guard's COPY with action "ignore", whose held-back rows go in by an INSERT of the proxy's:
// the client is told `COPY n` of every row that went in, as from one COPY.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/bytes.hpp"

namespace uniqguard::protocol::postgres {

// The row count of a tag (its last word); nullopt when it has none.
std::optional<std::uint64_t> command_count(std::string_view tag);

// `held`: whole server messages; its CommandComplete's count is raised by `rows`. False when
// it holds no CommandComplete with a count.
bool add_to_command_count(std::string& held, std::uint64_t rows);

}  // namespace uniqguard::protocol::postgres
