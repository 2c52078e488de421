#include "config/sections.hpp"

namespace uniqguard::config {

void read_backend(const toml::table& table, const ReadContext& context, Backend& out) {
    SectionReader reader(table, "backend", "[backend]", backend_keys, context);
    reader.reject_unknown_keys();

    if (auto address = reader.endpoint("address")) out.address = *address;
    if (auto tls = reader.choice<BackendTls>("tls", {{"disable", BackendTls::disable},
                                                     {"prefer", BackendTls::prefer},
                                                     {"require", BackendTls::require},
                                                     {"verify-full", BackendTls::verify_full}})) {
        out.tls = *tls;
    }
    if (auto ca = reader.non_empty_string("tls_ca", "a PEM CA certificate file path")) {
        out.tls_ca = *ca;
    }
    if (auto user = reader.non_empty_string("user", "a database user name")) out.user = *user;
    // May be empty: a trust or peer-authenticated account has no password. Never echoed.
    if (auto password = reader.string("password", "a string, usually \"${VAR}\"")) {
        out.password = *password;
    }
    if (auto database = reader.non_empty_string("database", "a database name")) {
        out.database = *database;
    }

    // verify-full checks the server's certificate, which needs the CA it was issued by.
    if (out.tls == BackendTls::verify_full && !reader.has("tls_ca")) {
        reader.report("tls", "\"verify-full\" needs backend.tls_ca",
                      "\"disable\", \"prefer\", \"require\", or \"verify-full\" with tls_ca set");
    }
}

}  // namespace uniqguard::config
