// Client-certificate authentication cannot pass through the proxy: TLS ends at the proxy, and the
// server sees the proxy's own connection, which presents no certificate. When a login fails for
// that reason, these turn the server's refusal into one that says so (docs/authentication.md,
// "Client certificates").
#pragma once

#include <openssl/ssl.h>

#include <optional>
#include <string>

#include "util/bytes.hpp"

namespace uniqguard::proxy {

// What the proxy tells a client whose certificate cannot reach the server.
extern const char* const client_certificate_explanation;

// Whether the client sent a certificate on its TLS leg (`tls`: null for a plaintext client). The
// proxy asks every TLS client for one without requiring or checking it, only to know this.
bool client_presented_certificate(SSL* tls);

// PostgreSQL: an ErrorResponse body from the server during authentication. When it is the
// server's refusal of a connection without a client certificate (pg_hba.conf `cert`, or
// `clientcert=verify-ca|verify-full`), the whole ErrorResponse again, with the server's fields
// and the proxy's explanation as its hint; otherwise nullopt (relay it unchanged).
std::optional<std::string> explain_pg_client_certificate_refusal(util::Bytes error_body);

// MySQL: the payload of the server's ERR to a login. When it is `ER_ACCESS_DENIED_ERROR` (1045)
// and the client presented a certificate on its TLS leg (an account `REQUIRE X509`, `SUBJECT`
// or `ISSUER` refuses it so), the ERR again with the proxy's explanation after the server's
// message; otherwise nullopt.
std::optional<std::string> explain_mysql_client_certificate_refusal(
    util::Bytes err_payload, bool client_presented_certificate);

}  // namespace uniqguard::proxy
