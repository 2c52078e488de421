#include "protocol/mysql/caching_sha2.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>

namespace uniqguard::protocol::mysql {

std::optional<std::string> encrypt_password_for_server(std::string_view password_with_nul,
                                                       std::string_view scramble,
                                                       std::string_view public_key_pem) {
    if (scramble.empty()) return std::nullopt;
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(public_key_pem.data(), static_cast<int>(public_key_pem.size())), &BIO_free);
    if (!bio) return std::nullopt;
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
    if (!key || EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA) return std::nullopt;
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        EVP_PKEY_CTX_new(key.get(), nullptr), &EVP_PKEY_CTX_free);
    if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) <= 0)
        return std::nullopt;

    std::string mixed(password_with_nul);
    for (std::size_t i = 0; i < mixed.size(); ++i) mixed[i] ^= scramble[i % scramble.size()];
    const auto* in = reinterpret_cast<const unsigned char*>(mixed.data());
    std::size_t out_length = 0;
    std::optional<std::string> result;
    if (EVP_PKEY_encrypt(ctx.get(), nullptr, &out_length, in, mixed.size()) > 0) {
        std::string out(out_length, '\0');
        if (EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &out_length,
                             in, mixed.size()) > 0) {
            out.resize(out_length);
            result = std::move(out);
        }
    }
    OPENSSL_cleanse(mixed.data(), mixed.size());
    return result;
}

}  // namespace uniqguard::protocol::mysql
