#include "pgclient/scram.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>
#include <charconv>

namespace uniqguard::pgclient {

namespace {

constexpr std::string_view base64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view gs2_header = "n,,";
constexpr std::size_t key_size = SHA256_DIGEST_LENGTH;
constexpr std::size_t random_nonce_bytes = 18;  // libpq's SCRAM_RAW_NONCE_LEN

using Key = std::array<unsigned char, key_size>;

// Zeroes a derived secret when it goes out of scope.
struct CleansedKey {
    Key bytes{};
    ~CleansedKey() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

int base64_value(char c) {
    const auto at = base64_alphabet.find(c);
    return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

bool hmac_sha256(const unsigned char* key, std::size_t key_len, std::string_view data, Key& out) {
    unsigned int len = 0;
    return HMAC(EVP_sha256(), key, static_cast<int>(key_len),
                reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
                &len) != nullptr &&
           len == out.size();
}

// RFC 5802 saslname: ',' and '=' are escaped.
std::string sasl_name(std::string_view user) {
    std::string out;
    for (char c : user) {
        if (c == ',')
            out += "=2C";
        else if (c == '=')
            out += "=3D";
        else
            out += c;
    }
    return out;
}

// The value of attribute `name` at the front of `message` ("r=...,"): advances past it.
std::optional<std::string_view> take_attribute(std::string_view& message, char name) {
    if (message.size() < 2 || message[0] != name || message[1] != '=') return std::nullopt;
    const auto comma = message.find(',');
    std::string_view value =
        message.substr(2, comma == std::string_view::npos ? message.npos : comma - 2);
    message.remove_prefix(comma == std::string_view::npos ? message.size() : comma + 1);
    return value;
}

bool printable_nonce(std::string_view nonce) {
    for (unsigned char c : nonce) {
        if (c < 0x21 || c > 0x7e || c == ',') return false;
    }
    return !nonce.empty();
}

std::string random_nonce() {
    std::array<unsigned char, random_nonce_bytes> raw{};
    if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) return {};
    return base64_encode({reinterpret_cast<const char*>(raw.data()), raw.size()});
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    auto at = [&](std::size_t k) {
        return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k]));
    };
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
        out += base64_alphabet[(v >> 18) & 63];
        out += base64_alphabet[(v >> 12) & 63];
        out += base64_alphabet[(v >> 6) & 63];
        out += base64_alphabet[v & 63];
    }
    if (const auto rest = bytes.size() - i; rest > 0) {
        std::uint32_t v = at(i) << 16;
        if (rest == 2) v |= at(i + 1) << 8;
        out += base64_alphabet[(v >> 18) & 63];
        out += base64_alphabet[(v >> 12) & 63];
        out += rest == 2 ? base64_alphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        int v[4];
        int padding = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = text[i + static_cast<std::size_t>(k)];
            if (c == '=' && last && k >= 2) {
                ++padding;
                v[k] = 0;
                continue;
            }
            if (padding > 0) return std::nullopt;  // data after '='
            v[k] = base64_value(c);
            if (v[k] < 0) return std::nullopt;
        }
        const std::uint32_t bits =
            (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12) |
            (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
        out += static_cast<char>(bits >> 16);
        if (padding < 2) out += static_cast<char>((bits >> 8) & 0xff);
        if (padding < 1) out += static_cast<char>(bits & 0xff);
    }
    return out;
}

ScramClient::ScramClient(std::string_view password, std::string client_nonce, std::string_view user)
    : password_(password), nonce_(client_nonce.empty() ? random_nonce() : std::move(client_nonce)) {
    client_first_bare_ = "n=" + sasl_name(user) + ",r=" + nonce_;
}

ScramClient::~ScramClient() { OPENSSL_cleanse(password_.data(), password_.size()); }

std::string ScramClient::client_first_message() const {
    return std::string(gs2_header) + client_first_bare_;
}

ScramStep ScramClient::handle_server_first(std::string_view server_first) {
    if (awaiting_final_ || verified_) return {{}, "unexpected SCRAM server-first message"};
    if (nonce_.empty()) return {{}, "could not generate a SCRAM nonce"};
    std::string_view rest = server_first;
    if (rest.starts_with("m=")) return {{}, "the server requires a SCRAM extension"};
    const auto nonce = take_attribute(rest, 'r');
    const auto salt_text = take_attribute(rest, 's');
    const auto iterations_text = take_attribute(rest, 'i');
    if (!nonce || !salt_text || !iterations_text) {
        return {{}, "malformed SCRAM server-first message"};
    }
    // The combined nonce starts with ours and adds the server's part.
    if (!nonce->starts_with(nonce_) || nonce->size() == nonce_.size() || !printable_nonce(*nonce)) {
        return {{}, "the SCRAM server nonce does not extend the client nonce"};
    }
    const auto salt = base64_decode(*salt_text);
    if (!salt || salt->empty()) return {{}, "malformed SCRAM salt"};
    std::uint32_t iterations = 0;
    const auto* end = iterations_text->data() + iterations_text->size();
    const auto parsed = std::from_chars(iterations_text->data(), end, iterations);
    if (parsed.ec != std::errc{} || parsed.ptr != end || iterations == 0) {
        return {{}, "malformed SCRAM iteration count"};
    }
    if (iterations > max_iterations) return {{}, "the server asks for too many SCRAM iterations"};

    CleansedKey salted;
    if (PKCS5_PBKDF2_HMAC(password_.data(), static_cast<int>(password_.size()),
                          reinterpret_cast<const unsigned char*>(salt->data()),
                          static_cast<int>(salt->size()), static_cast<int>(iterations),
                          EVP_sha256(), static_cast<int>(salted.bytes.size()),
                          salted.bytes.data()) != 1) {
        return {{}, "SCRAM key derivation failed"};
    }
    CleansedKey client_key, stored_key, client_signature, server_key;
    Key server_signature{};
    const std::string without_proof =
        "c=" + base64_encode(gs2_header) + ",r=" + std::string(*nonce);
    const std::string auth_message =
        client_first_bare_ + "," + std::string(server_first) + "," + without_proof;
    bool ok = hmac_sha256(salted.bytes.data(), salted.bytes.size(), "Client Key", client_key.bytes);
    ok = ok && SHA256(client_key.bytes.data(), client_key.bytes.size(), stored_key.bytes.data());
    ok = ok && hmac_sha256(stored_key.bytes.data(), stored_key.bytes.size(), auth_message,
                           client_signature.bytes);
    ok =
        ok && hmac_sha256(salted.bytes.data(), salted.bytes.size(), "Server Key", server_key.bytes);
    ok = ok && hmac_sha256(server_key.bytes.data(), server_key.bytes.size(), auth_message,
                           server_signature);
    if (!ok) return {{}, "SCRAM key derivation failed"};

    Key proof{};
    for (std::size_t i = 0; i < proof.size(); ++i) {
        proof[i] = client_key.bytes[i] ^ client_signature.bytes[i];
    }
    expected_server_signature_.assign(server_signature.begin(), server_signature.end());
    awaiting_final_ = true;
    return {without_proof +
                ",p=" + base64_encode({reinterpret_cast<const char*>(proof.data()), proof.size()}),
            {}};
}

ScramStep ScramClient::handle_server_final(std::string_view server_final) {
    if (!awaiting_final_) return {{}, "unexpected SCRAM server-final message"};
    awaiting_final_ = false;
    std::string_view rest = server_final;
    if (rest.starts_with("e=")) {
        return {{}, "the server refused the SCRAM exchange: " + std::string(rest.substr(2))};
    }
    const auto signature_text = take_attribute(rest, 'v');
    const auto signature = signature_text ? base64_decode(*signature_text) : std::nullopt;
    if (!signature) return {{}, "malformed SCRAM server-final message"};
    if (signature->size() != expected_server_signature_.size() ||
        CRYPTO_memcmp(signature->data(), expected_server_signature_.data(),
                      expected_server_signature_.size()) != 0) {
        return {{}, "the server's SCRAM signature is wrong: it does not know the password"};
    }
    verified_ = true;
    return {};
}

}  // namespace uniqguard::pgclient
