#include "proxy/client_certificate.hpp"

#include <string_view>

#include "protocol/postgres/frontend_messages.hpp"

namespace uniqguard::proxy {

const char* const client_certificate_explanation =
    "uniqguard terminates TLS, so a client certificate cannot reach the database server, "
    "which sees the proxy's connection: if this user is to log in with a certificate, give it a "
    "password for the proxy's address instead (see uniqguard's docs/authentication.md, "
    "\"Client certificates\")";

namespace {

constexpr std::uint16_t er_access_denied = 1045;

// PostgreSQL 15's texts (auth.c) for a connection that must present a certificate and did not,
// and for a certificate that does not match the user. Matched in English: a server with a
// translated lc_messages gets its refusal relayed unchanged.
bool is_pg_certificate_refusal(std::string_view message) {
    return message == "connection requires a valid client certificate" ||
           message.starts_with("certificate authentication failed for user ");
}

}  // namespace

bool client_presented_certificate(SSL* tls) {
    return tls != nullptr && SSL_get0_peer_certificate(tls) != nullptr;
}

std::optional<std::string> explain_pg_client_certificate_refusal(util::Bytes error_body) {
    auto fields = protocol::postgres::decode_error_fields(error_body);
    if (!fields) return std::nullopt;
    bool refused = false;
    bool authorization = false;
    for (const auto& [code, value] : *fields) {
        if (code == 'C') authorization = value == "28000";
        if (code == 'M') refused = is_pg_certificate_refusal(value);
    }
    if (!refused || !authorization) return std::nullopt;
    std::erase_if(*fields, [](const auto& field) { return field.first == 'H'; });
    fields->emplace_back('H', std::string(client_certificate_explanation) + ".");
    std::string message;
    protocol::postgres::append_error_message(message, *fields);
    return message;
}

std::optional<std::string> explain_mysql_client_certificate_refusal(
    util::Bytes err_payload, bool client_presented_certificate) {
    // 0xFF, the code (2 bytes, little-endian), '#', the SQLSTATE (5), the message.
    constexpr std::size_t header = 1 + 2 + 1 + 5;
    if (!client_presented_certificate || err_payload.size() < header || err_payload[0] != 0xFF ||
        err_payload[3] != '#')
        return std::nullopt;
    const auto code = static_cast<std::uint16_t>(err_payload[1] | (err_payload[2] << 8));
    if (code != er_access_denied) return std::nullopt;
    std::string payload(util::as_chars(err_payload));
    payload += "; ";
    payload += client_certificate_explanation;
    return payload;
}

}  // namespace uniqguard::proxy
