#include "protocol/postgres/channel_binding.hpp"

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

namespace uniqguard::protocol::postgres {

std::optional<std::string> tls_server_end_point(const X509* certificate) {
    if (certificate == nullptr) return std::nullopt;
    int digest_nid = NID_undef;
    if (OBJ_find_sigid_algs(X509_get_signature_nid(certificate), &digest_nid, nullptr) != 1)
        return std::nullopt;
    // RFC 5929: "if the certificate's signatureAlgorithm uses MD5 or SHA-1, use SHA-256".
    const EVP_MD* digest = digest_nid == NID_md5 || digest_nid == NID_sha1
                               ? EVP_sha256()
                               : EVP_get_digestbynid(digest_nid);
    if (digest == nullptr) return std::nullopt;
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (X509_digest(certificate, digest, out, &length) != 1) return std::nullopt;
    return std::string(reinterpret_cast<const char*>(out), length);
}

}  // namespace uniqguard::protocol::postgres
