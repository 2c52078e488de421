#include "protocol/postgres/channel_binding.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <catch2/catch.hpp>
#include <memory>

using namespace uniqguard::protocol::postgres;

namespace {

struct Freer {
    void operator()(X509* x) const { X509_free(x); }
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using CertPtr = std::unique_ptr<X509, Freer>;

// A self-signed certificate on a P-256 key, signed with `digest`.
CertPtr self_signed(const EVP_MD* digest) {
    std::unique_ptr<EVP_PKEY, Freer> key(EVP_EC_gen("P-256"));
    REQUIRE(key);
    CertPtr cert(X509_new());
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 7);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("uniqguard-test"), -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);
    X509_set_pubkey(cert.get(), key.get());
    REQUIRE(X509_sign(cert.get(), key.get(), digest) > 0);
    return cert;
}

// The hash of the certificate's DER encoding, computed here without X509_digest.
std::string der_hash(X509* cert, const EVP_MD* digest) {
    unsigned char* der = nullptr;
    const int length = i2d_X509(cert, &der);
    REQUIRE(length > 0);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int out_length = 0;
    REQUIRE(EVP_Digest(der, static_cast<std::size_t>(length), out, &out_length, digest, nullptr) ==
            1);
    OPENSSL_free(der);
    return std::string(reinterpret_cast<const char*>(out), out_length);
}

}  // namespace

TEST_CASE("TlsServerEndPointHashesWithTheSignaturesHash", "[channel_binding]") {
    auto sha256_signed = self_signed(EVP_sha256());
    const auto data = tls_server_end_point(sha256_signed.get());
    REQUIRE(data);
    CHECK(data->size() == 32);
    CHECK(*data == der_hash(sha256_signed.get(), EVP_sha256()));

    auto sha384_signed = self_signed(EVP_sha384());
    const auto data384 = tls_server_end_point(sha384_signed.get());
    REQUIRE(data384);
    CHECK(data384->size() == 48);
    CHECK(*data384 == der_hash(sha384_signed.get(), EVP_sha384()));
}

TEST_CASE("TlsServerEndPointUsesSha256ForSha1Signatures", "[channel_binding]") {
    // RFC 5929 4.1: MD5 and SHA-1 are replaced by SHA-256.
    auto sha1_signed = self_signed(EVP_sha1());
    const auto data = tls_server_end_point(sha1_signed.get());
    REQUIRE(data);
    CHECK(*data == der_hash(sha1_signed.get(), EVP_sha256()));
    CHECK(*data != der_hash(sha1_signed.get(), EVP_sha1()));
}

TEST_CASE("TlsServerEndPointWithoutCertificateIsNothing", "[channel_binding]") {
    CHECK_FALSE(tls_server_end_point(nullptr));
}
