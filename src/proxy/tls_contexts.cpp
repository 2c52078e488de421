#include "proxy/tls_contexts.hpp"

namespace uniqguard::proxy {

TlsSetup make_client_facing_tls(const config::Listen& listen) {
    TlsSetup setup;
    if (!listen.tls_cert || !listen.tls_key) return setup;
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    // Idle TLS sessions give their read/write buffers back to the allocator (~34 KiB each).
    SSL_CTX_set_mode(ctx->native_handle(), SSL_MODE_RELEASE_BUFFERS);
    error_code ec;
    ctx->use_certificate_chain_file(*listen.tls_cert, ec);
    if (ec) {
        setup.error = "listen.tls_cert: cannot use " + *listen.tls_cert + ": " + ec.message();
        return setup;
    }
    ctx->use_private_key_file(*listen.tls_key, ssl::context::pem, ec);
    if (ec) {
        setup.error = "listen.tls_key: cannot use " + *listen.tls_key + ": " + ec.message();
        return setup;
    }
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
        setup.error = "listen.tls_key does not match listen.tls_cert";
        return setup;
    }
    // Ask for a client certificate, never require or check one: a client that sends one means
    // to log in with it, which cannot work through TLS termination, and knowing it lets the
    // proxy say so when the server refuses the login (client_certificate.hpp). A context that
    // asks must name its session cache, or OpenSSL refuses resumed sessions.
    SSL_CTX_set_verify(ctx->native_handle(), SSL_VERIFY_PEER,
                       [](int, X509_STORE_CTX*) { return 1; });
    static constexpr unsigned char session_context[] = "uniqguard";
    SSL_CTX_set_session_id_context(ctx->native_handle(), session_context,
                                   sizeof session_context - 1);
    setup.context = std::move(ctx);
    return setup;
}

std::string configure_backend_tls(ssl::context& ctx, const config::Backend& backend) {
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3);
    SSL_CTX_set_mode(ctx.native_handle(), SSL_MODE_RELEASE_BUFFERS);
    if (backend.tls_ca) {
        error_code ec;
        ctx.load_verify_file(*backend.tls_ca, ec);
        if (ec) return "backend.tls_ca: cannot use " + *backend.tls_ca + ": " + ec.message();
    }
    // prefer/require encrypt without checking the certificate, as libpq's sslmode of the same
    // names do; verify-full checks the chain and the host name (set per connection).
    ctx.set_verify_mode(backend.tls == config::BackendTls::verify_full ? ssl::verify_peer
                                                                       : ssl::verify_none);
    return {};
}

TlsSetup make_backend_tls(const config::Backend& backend) {
    TlsSetup setup;
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    setup.error = configure_backend_tls(*ctx, backend);
    if (setup.error.empty()) setup.context = std::move(ctx);
    return setup;
}

}  // namespace uniqguard::proxy
