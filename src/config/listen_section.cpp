#include "config/sections.hpp"

namespace uniqguard::config {

void read_listen(const toml::table& table, const ReadContext& context, Listen& out) {
    SectionReader reader(table, "listen", "[listen]", listen_keys, context);
    reader.reject_unknown_keys();

    if (auto address = reader.endpoint("address")) out.address = *address;
    if (auto protocol = reader.choice<Protocol>(
            "protocol", {{"postgres", Protocol::postgres}, {"mysql", Protocol::mysql}})) {
        out.protocol = *protocol;
    }
    if (auto cert = reader.non_empty_string("tls_cert", "a PEM certificate file path")) {
        out.tls_cert = *cert;
    }
    if (auto key = reader.non_empty_string("tls_key", "a PEM private key file path")) {
        out.tls_key = *key;
    }
    if (auto n = reader.integer("max_clients", 1, 1'000'000)) {
        out.max_clients = static_cast<std::uint32_t>(*n);
    }
    // The lower bound keeps room for any startup or handshake packet; the upper one is
    // PostgreSQL's own limit on a message (1 GiB).
    if (auto n = reader.integer("max_message_bytes", 1024, 1'073'741'824)) {
        out.max_message_bytes = static_cast<std::uint64_t>(*n);
    }
    if (auto ms = reader.integer("shutdown_timeout_ms", 0, 86'400'000)) {
        out.shutdown_timeout = std::chrono::milliseconds(*ms);
    }
    if (auto auth = reader.choice<ClientAuth>(
            "auth", {{"relay", ClientAuth::relay}, {"terminate", ClientAuth::terminate}})) {
        out.auth = *auth;
    }
    if (auto query = reader.non_empty_string("auth_query", "an SQL query with one parameter, $1")) {
        out.auth_query = *query;
    }
    // true (version 1, the text line), false, or the version by name.
    if (reader.is_string("proxy_protocol")) {
        if (auto version = reader.choice<ProxyProtocol>(
                "proxy_protocol", {{"v1", ProxyProtocol::v1}, {"v2", ProxyProtocol::v2}}))
            out.proxy_protocol = *version;
    } else if (auto flag = reader.boolean("proxy_protocol")) {
        out.proxy_protocol = *flag ? ProxyProtocol::v1 : ProxyProtocol::off;
    }

    // A certificate without its key (or the reverse) cannot offer TLS; refusing is clearer than
    // silently serving plaintext. Checked on presence, so a wrongly typed value is reported as
    // such first.
    const bool has_cert = reader.has("tls_cert");
    const bool has_key = reader.has("tls_key");
    if (has_cert != has_key) {
        const std::string_view present = has_cert ? "tls_cert" : "tls_key";
        const std::string missing = reader.full_key(has_cert ? "tls_key" : "tls_cert");
        reader.report(present, "is set but " + missing + " is not",
                      "both tls_cert and tls_key, or neither");
    }
}

}  // namespace uniqguard::config
