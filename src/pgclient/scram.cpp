#include "pgclient/scram.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <charconv>

namespace uniqguard::pgclient {

namespace scram = protocol::postgres::scram;

namespace {

// Zeroes a derived secret when it goes out of scope.
using CleansedKey = scram::SecretKey;
using Key = scram::Key;

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

bool hmac_sha256(const unsigned char* key, std::size_t key_len, std::string_view data, Key& out) {
    unsigned int len = 0;
    return HMAC(EVP_sha256(), key, static_cast<int>(key_len),
                reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
                &len) != nullptr &&
           len == out.size();
}

}  // namespace

ScramClient::ScramClient(std::string_view password, std::string client_nonce, std::string_view user)
    : password_(password),
      nonce_(client_nonce.empty() ? scram::random_nonce() : std::move(client_nonce)) {
    client_first_bare_ = "n=" + sasl_name(user) + ",r=" + nonce_;
}

ScramClient::ScramClient(const ScramKeys& keys, std::string channel_binding,
                         std::string client_nonce)
    : keys_(keys),
      channel_binding_(std::move(channel_binding)),
      nonce_(client_nonce.empty() ? scram::random_nonce() : std::move(client_nonce)) {
    client_first_bare_ = "n=,r=" + nonce_;
}

std::string_view ScramClient::mechanism() const {
    return channel_binding_.empty() ? "SCRAM-SHA-256" : "SCRAM-SHA-256-PLUS";
}

std::string ScramClient::gs2_header() const {
    return channel_binding_.empty() ? "n,," : std::string(scram::end_point_gs2_header);
}

ScramClient::~ScramClient() { OPENSSL_cleanse(password_.data(), password_.size()); }

std::string ScramClient::client_first_message() const { return gs2_header() + client_first_bare_; }

ScramStep ScramClient::handle_server_first(std::string_view server_first) {
    if (awaiting_final_ || verified_) return {{}, "unexpected SCRAM server-first message"};
    if (nonce_.empty()) return {{}, "could not generate a SCRAM nonce"};
    std::string_view rest = server_first;
    if (rest.starts_with("m=")) return {{}, "the server requires a SCRAM extension"};
    const auto nonce = scram::take_attribute(rest, 'r');
    const auto salt_text = scram::take_attribute(rest, 's');
    const auto iterations_text = scram::take_attribute(rest, 'i');
    if (!nonce || !salt_text || !iterations_text) {
        return {{}, "malformed SCRAM server-first message"};
    }
    // The combined nonce starts with ours and adds the server's part.
    if (!nonce->starts_with(nonce_) || nonce->size() == nonce_.size() ||
        !scram::printable(*nonce)) {
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

    CleansedKey client_key, server_key;
    if (keys_) {
        // The keys already are what this password-less client would derive from the salt and
        // the iteration count.
        client_key = keys_->client_key;
        server_key = keys_->server_key;
    } else {
        CleansedKey salted;
        if (PKCS5_PBKDF2_HMAC(password_.data(), static_cast<int>(password_.size()),
                              reinterpret_cast<const unsigned char*>(salt->data()),
                              static_cast<int>(salt->size()), static_cast<int>(iterations),
                              EVP_sha256(), static_cast<int>(salted.bytes.size()),
                              salted.bytes.data()) != 1 ||
            !hmac_sha256(salted.bytes.data(), salted.bytes.size(), "Client Key",
                         client_key.bytes) ||
            !hmac_sha256(salted.bytes.data(), salted.bytes.size(), "Server Key",
                         server_key.bytes)) {
            return {{}, "SCRAM key derivation failed"};
        }
    }
    CleansedKey stored_key, client_signature;
    Key server_signature{};
    const std::string without_proof =
        "c=" + base64_encode(gs2_header() + channel_binding_) + ",r=" + std::string(*nonce);
    const std::string auth_message =
        client_first_bare_ + "," + std::string(server_first) + "," + without_proof;
    const bool ok = scram::hash(client_key.bytes, stored_key.bytes) &&
                    scram::hmac(stored_key.bytes, auth_message, client_signature.bytes) &&
                    scram::hmac(server_key.bytes, auth_message, server_signature);
    if (!ok) return {{}, "SCRAM key derivation failed"};

    CleansedKey proof;
    proof.bytes = scram::exclusive_or(client_key.bytes, client_signature.bytes);
    expected_server_signature_.assign(server_signature.begin(), server_signature.end());
    awaiting_final_ = true;
    return {without_proof + ",p=" + base64_encode(scram::as_chars(proof.bytes)), {}};
}

ScramStep ScramClient::handle_server_final(std::string_view server_final) {
    if (!awaiting_final_) return {{}, "unexpected SCRAM server-final message"};
    awaiting_final_ = false;
    std::string_view rest = server_final;
    if (rest.starts_with("e=")) {
        return {{}, "the server refused the SCRAM exchange: " + std::string(rest.substr(2))};
    }
    const auto signature_text = scram::take_attribute(rest, 'v');
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
