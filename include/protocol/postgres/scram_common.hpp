// What both ends of a SCRAM-SHA-256 exchange (RFC 5802, RFC 7677) share, sans-io: the key type
// and its hashes, the attribute syntax of the messages, nonces, the tls-server-end-point channel
// binding header, and PostgreSQL's stored verifier (pg_authid.rolpassword).
//
// The proxy's SCRAM client (pgclient/scram.hpp) and its SCRAM server (scram_server.hpp) are
// built on these. Nothing here logs; keys are zeroed by their owners (SecretKey).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace uniqguard::protocol::postgres::scram {

inline constexpr std::size_t key_size = 32;  // SHA-256
using Key = std::array<unsigned char, key_size>;

// A key that is zeroed when it goes out of scope (ClientKey, StoredKey, ServerKey, proofs).
struct SecretKey {
    Key bytes{};
    SecretKey() = default;
    SecretKey(const SecretKey& other) : bytes(other.bytes) {}
    SecretKey& operator=(const SecretKey& other) {
        bytes = other.bytes;
        return *this;
    }
    ~SecretKey();
};

// HMAC-SHA-256(key, data); false only when OpenSSL fails.
bool hmac(const Key& key, std::string_view data, Key& out);
// SHA-256(in).
bool hash(const Key& in, Key& out);
// a XOR b (proof = ClientKey XOR ClientSignature, and back).
Key exclusive_or(const Key& a, const Key& b);
// Constant-time comparison.
bool equal(const Key& a, const Key& b);
std::string_view as_chars(const Key& key);

// The gs2 header for tls-server-end-point binding, and the channel-binding type's name.
inline constexpr std::string_view end_point_binding = "tls-server-end-point";
inline constexpr std::string_view end_point_gs2_header = "p=tls-server-end-point,,";

// The value of attribute `name` at the front of `message` ("r=...,"): advances past it and its
// comma. nullopt when the message does not start with "<name>=".
std::optional<std::string_view> take_attribute(std::string_view& message, char name);
// RFC 5802 "printable": %x21-2B / %x2D-7E (printable ASCII but ','). Empty is not printable.
bool printable(std::string_view text);
// 18 random bytes in base64 (the length libpq and the server use); empty if OpenSSL fails.
std::string random_nonce();

// A role's SCRAM-SHA-256 verifier, as PostgreSQL stores it:
//   SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>
struct Verifier {
    std::uint32_t iterations = 0;
    std::string salt_base64;  // as stored: the server-first message carries it as is
    SecretKey stored_key;
    SecretKey server_key;
};
// nullopt when `rolpassword` is not a well-formed SCRAM-SHA-256 verifier (an md5 hash "md5...",
// a plaintext password, garbage).
std::optional<Verifier> parse_verifier(std::string_view rolpassword);

}  // namespace uniqguard::protocol::postgres::scram
