// One reader per top-level table of SPEC §2. Each starts from the defaults already in `out`,
// overwrites what the table sets, and reports problems through the context's Diagnostics.
#pragma once

#include <toml++/toml.h>

#include <vector>

#include "config/config.hpp"
#include "config/known_keys.hpp"
#include "config/section_reader.hpp"

namespace uniqguard::config {

void read_listen(const toml::table& table, const ReadContext& context, Listen& out);
void read_backend(const toml::table& table, const ReadContext& context, Backend& out);
void read_admin(const toml::table& table, const ReadContext& context, Admin& out);
void read_log(const toml::table& table, const ReadContext& context, Log& out);

// `guards` is the [[guard]] array. The protocol matters because some guard options exist on one
// server only (nulls_distinct = false is PostgreSQL's NULLS NOT DISTINCT).
std::vector<Guard> read_guards(const toml::array& guards, Protocol protocol,
                               const ReadContext& context);

}  // namespace uniqguard::config
