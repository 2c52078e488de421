// The startup-phase packets the proxy must understand rather than relay blindly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/bytes.hpp"

namespace uniqguard::protocol::postgres {

// StartupMessage parameters (user, database, application_name, options, ...), in wire order.
struct StartupParameters {
    std::vector<std::pair<std::string, std::string>> items;
    std::string_view get(std::string_view name) const;  // "" when absent
};

// Decodes the body of a StartupMessage (after length and protocol code): NUL-terminated
// name/value pairs ended by an empty name. nullopt when the body is not of that form.
std::optional<StartupParameters> decode_startup_parameters(util::Bytes body);

struct CancelKey {
    std::uint32_t process_id = 0;
    std::uint32_t secret_key = 0;
    bool operator==(const CancelKey&) const = default;
};

// Body of a CancelRequest (after length and code) or of BackendKeyData: two int32.
std::optional<CancelKey> decode_cancel_key(util::Bytes body);

std::string encode_cancel_request(const CancelKey& key);
std::string encode_ssl_request();

}  // namespace uniqguard::protocol::postgres
