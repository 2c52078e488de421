// SCRAM channel binding of type tls-server-end-point (RFC 5929, section 4.1): the hash of the
// TLS server's certificate, taken with the hash function of the certificate's signature
// algorithm, where MD5 and SHA-1 are replaced by SHA-256. The proxy binds its clients'
// SCRAM-SHA-256-PLUS exchanges to its own certificate, and its own exchange with the server to
// the server's certificate.
#pragma once

#include <openssl/types.h>

#include <optional>
#include <string>

namespace uniqguard::protocol::postgres {

// The binding data for `certificate` (raw hash bytes); nullopt when its signature algorithm has
// no single hash (Ed25519, RSA-PSS without parameters we read) or OpenSSL fails: such a
// certificate cannot be bound to, as for the server itself.
std::optional<std::string> tls_server_end_point(const X509* certificate);

}  // namespace uniqguard::protocol::postgres
