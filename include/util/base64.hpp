// Base64 (RFC 4648, standard alphabet, padded), as SCRAM uses it for salts, nonces and proofs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace uniqguard::util {

std::string base64_encode(std::string_view bytes);
// Strict: padded, no whitespace; nullopt when `text` is not base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace uniqguard::util
