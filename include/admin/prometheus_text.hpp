// The /metrics page: SPEC §6's metrics in the Prometheus text exposition format 0.0.4
// (docs/operations.md lists them).
#pragma once

#include <string>
#include <string_view>

#include "admin/snapshot.hpp"

namespace uniqguard::admin {

inline constexpr std::string_view prometheus_content_type =
    "text/plain; version=0.0.4; charset=utf-8";

std::string render_prometheus(const MetricsSnapshot& snapshot);

// A label value as the format wants it: backslash, double quote and newline escaped.
std::string escape_label_value(std::string_view value);

}  // namespace uniqguard::admin
