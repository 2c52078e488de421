// caching_sha2_password's full-path encryption, as a client does it when its connection is not
// TLS: (password + NUL) XOR the scramble (repeated), RSA-encrypted with the server's public key
// and OAEP padding (MySQL 8.0.5 and later).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace uniqguard::protocol::mysql {

// Packet bodies of the exchange (after the 0x01 AuthMoreData marker where the server sends).
inline constexpr std::uint8_t sha2_request_public_key = 0x02;
inline constexpr std::uint8_t sha2_fast_auth_success = 0x03;
inline constexpr std::uint8_t sha2_perform_full_auth = 0x04;

// nullopt when the PEM is not an RSA public key or the password is too long for it.
std::optional<std::string> encrypt_password_for_server(std::string_view password_with_nul,
                                                       std::string_view scramble,
                                                       std::string_view public_key_pem);

}  // namespace uniqguard::protocol::mysql
