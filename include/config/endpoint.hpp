// Parsing of "host:port" addresses (SPEC §2: listen.address, backend.address, admin.address).
// Endpoint itself is declared in config/config.hpp; this adds the text form's reader.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace uniqguard::config {

// Exactly one of `endpoint` / `problem` is meaningful: `problem` is set when `endpoint` is not.
struct EndpointParse {
    std::optional<Endpoint> endpoint;
    std::string problem;  // e.g. "port 0 is out of range", without the key or the allowed list
};

// Accepts "host:port" and "[ipv6]:port" with a port of 1..65535. The host is not resolved here:
// a name that does not resolve is a runtime condition (the backend may come up later).
EndpointParse parse_endpoint(std::string_view text);

// What parse_endpoint accepts, for the "allowed:" part of messages.
inline constexpr std::string_view endpoint_allowed =
    R"("host:port" or "[ipv6]:port", port 1..65535)";

}  // namespace uniqguard::config
