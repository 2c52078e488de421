#include "protocol/postgres/scram_common.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <charconv>

#include "util/base64.hpp"

namespace uniqguard::protocol::postgres::scram {

namespace {
constexpr std::size_t random_nonce_bytes = 18;  // libpq's and the server's SCRAM_RAW_NONCE_LEN
// The largest iteration count we accept in a verifier (as our client's limit toward a server):
// a larger one would only make every login of that role hang the worker.
constexpr std::uint32_t max_iterations = 10'000'000;

std::optional<Key> decode_key(std::string_view text) {
    const auto raw = util::base64_decode(text);
    if (!raw || raw->size() != key_size) return std::nullopt;
    Key key{};
    std::copy(raw->begin(), raw->end(), key.begin());
    return key;
}
}  // namespace

SecretKey::~SecretKey() { OPENSSL_cleanse(bytes.data(), bytes.size()); }

bool hmac(const Key& key, std::string_view data, Key& out) {
    unsigned int len = 0;
    return HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
                &len) != nullptr &&
           len == out.size();
}

bool hash(const Key& in, Key& out) { return SHA256(in.data(), in.size(), out.data()) != nullptr; }

Key exclusive_or(const Key& a, const Key& b) {
    Key out{};
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = a[i] ^ b[i];
    return out;
}

bool equal(const Key& a, const Key& b) { return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0; }

std::string_view as_chars(const Key& key) {
    return {reinterpret_cast<const char*>(key.data()), key.size()};
}

std::optional<std::string_view> take_attribute(std::string_view& message, char name) {
    if (message.size() < 2 || message[0] != name || message[1] != '=') return std::nullopt;
    const auto comma = message.find(',');
    std::string_view value =
        message.substr(2, comma == std::string_view::npos ? message.npos : comma - 2);
    message.remove_prefix(comma == std::string_view::npos ? message.size() : comma + 1);
    return value;
}

bool printable(std::string_view text) {
    for (unsigned char c : text) {
        if (c < 0x21 || c > 0x7e || c == ',') return false;
    }
    return !text.empty();
}

std::string random_nonce() {
    std::array<unsigned char, random_nonce_bytes> raw{};
    if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) return {};
    return util::base64_encode({reinterpret_cast<const char*>(raw.data()), raw.size()});
}

std::optional<Verifier> parse_verifier(std::string_view text) {
    constexpr std::string_view prefix = "SCRAM-SHA-256$";
    if (!text.starts_with(prefix)) return std::nullopt;
    text.remove_prefix(prefix.size());
    const auto colon = text.find(':');
    const auto dollar = text.find('$');
    if (colon == text.npos || dollar == text.npos || dollar < colon) return std::nullopt;
    const std::string_view iterations = text.substr(0, colon);
    const std::string_view salt = text.substr(colon + 1, dollar - colon - 1);
    const std::string_view keys = text.substr(dollar + 1);
    const auto key_colon = keys.find(':');
    if (key_colon == keys.npos) return std::nullopt;

    Verifier v;
    const auto* end = iterations.data() + iterations.size();
    const auto parsed = std::from_chars(iterations.data(), end, v.iterations);
    if (parsed.ec != std::errc{} || parsed.ptr != end || v.iterations == 0 ||
        v.iterations > max_iterations) {
        return std::nullopt;
    }
    const auto raw_salt = util::base64_decode(salt);
    if (!raw_salt || raw_salt->empty()) return std::nullopt;
    v.salt_base64 = salt;
    const auto stored = decode_key(keys.substr(0, key_colon));
    const auto server = decode_key(keys.substr(key_colon + 1));
    if (!stored || !server) return std::nullopt;
    v.stored_key.bytes = *stored;
    v.server_key.bytes = *server;
    return v;
}

}  // namespace uniqguard::protocol::postgres::scram
