// Builds the OpenSSL contexts from the configuration: toward clients (listen.tls_cert/tls_key)
// and toward the database (backend.tls, backend.tls_ca).
#pragma once

#include <memory>
#include <string>

#include "config/config.hpp"
#include "proxy/stream.hpp"

namespace uniqguard::proxy {

struct TlsSetup {
    std::shared_ptr<ssl::context> context;
    std::string error;  // non-empty: the certificate or key could not be used
};

// Null context when the listener has no certificate configured.
TlsSetup make_client_facing_tls(const config::Listen& listen);
// Fills `ctx` for backend connections; verify-full loads tls_ca.
std::string configure_backend_tls(ssl::context& ctx, const config::Backend& backend);
// A context of its own, filled as above (never null without an error).
TlsSetup make_backend_tls(const config::Backend& backend);

}  // namespace uniqguard::proxy
