// The few authentication messages the proxy must read or edit while relaying authentication.
// It never keeps or logs their secrets: it looks at mechanism names and the SCRAM gs2 header only.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/bytes.hpp"

namespace uniqguard::protocol::postgres {

inline constexpr std::string_view scram_sha_256 = "SCRAM-SHA-256";
inline constexpr std::string_view scram_sha_256_plus = "SCRAM-SHA-256-PLUS";

// The auth sub-code of an Authentication ('R') body; nullopt if shorter than 4 bytes.
std::optional<std::uint32_t> authentication_code(util::Bytes body);

// Mechanisms of an AuthenticationSASL body (after the int32 code); nullopt when malformed.
std::optional<std::vector<std::string>> decode_sasl_mechanisms(util::Bytes body);

// A whole AuthenticationSASL message offering `mechanisms`.
std::string encode_authentication_sasl(const std::vector<std::string>& mechanisms);

// What a SASLInitialResponse says about channel binding. The gs2 flag of the client-first
// message: 'n' client cannot bind, 'y' client could bind but thinks the server cannot,
// 'p' client binds (only with a -PLUS mechanism).
struct SaslInitialResponse {
    std::string mechanism;
    char gs2_flag = 0;
    util::Bytes data;  // the client-first message (a view into the body)
};
std::optional<SaslInitialResponse> decode_sasl_initial_response(util::Bytes body);

// AuthenticationSASLContinue / AuthenticationSASLFinal carrying `data`, whole messages.
std::string encode_authentication_sasl_continue(std::string_view data);
std::string encode_authentication_sasl_final(std::string_view data);

}  // namespace uniqguard::protocol::postgres
