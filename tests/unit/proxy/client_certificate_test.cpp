// The proxy's explanation of a login refused for want of a client certificate
// (client_certificate.hpp): exact bytes in, exact bytes out, and every refusal that is not that
// one left to be relayed unchanged.
#include "proxy/client_certificate.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "protocol/postgres/frontend_messages.hpp"

using namespace uniqguard;
using namespace uniqguard::proxy;
namespace pg = uniqguard::protocol::postgres;

namespace {
// An ErrorResponse body (the fields, each NUL-terminated, and the closing NUL).
std::string error_body(const pg::ErrorFieldList& fields) {
    std::string message;
    pg::append_error_message(message, fields);
    return message.substr(5);  // the type byte and the length
}

const pg::ErrorFieldList server_refusal = {{'S', "FATAL"},
                                           {'V', "FATAL"},
                                           {'C', "28000"},
                                           {'M', "connection requires a valid client certificate"},
                                           {'F', "auth.c"},
                                           {'L', "409"},
                                           {'R', "ClientAuthentication"}};

std::string mysql_err(std::uint16_t code, std::string_view message) {
    std::string p;
    p += '\xFF';
    p += static_cast<char>(code & 0xFF);
    p += static_cast<char>(code >> 8);
    p += "#28000";
    p += message;
    return p;
}
}  // namespace

TEST_CASE("PostgreSQL's refusal of a connection without a certificate gets the proxy's hint") {
    const auto body = error_body(server_refusal);
    const auto explained = explain_pg_client_certificate_refusal(util::as_bytes(body));
    REQUIRE(explained);
    auto expected_fields = server_refusal;
    expected_fields.emplace_back(
        'H',
        "uniqguard terminates TLS, so a client certificate cannot reach the database server, "
        "which sees the proxy's connection: if this user is to log in with a certificate, give "
        "it a password for the proxy's address instead (see uniqguard's docs/authentication.md, "
        "\"Client certificates\").");
    std::string expected;
    pg::append_error_message(expected, expected_fields);
    CHECK(*explained == expected);
}

TEST_CASE(
    "A certificate that does not match the user is explained too; a server hint is replaced") {
    pg::ErrorFieldList fields = {{'S', "FATAL"},
                                 {'C', "28000"},
                                 {'M', "certificate authentication failed for user \"alice\""},
                                 {'H', "the server's hint"}};
    const auto body = error_body(fields);
    const auto explained = explain_pg_client_certificate_refusal(util::as_bytes(body));
    REQUIRE(explained);
    const auto out =
        pg::decode_error_fields(util::as_bytes(std::string_view(*explained).substr(5)));
    REQUIRE(out);
    REQUIRE(out->size() == 4);
    CHECK((*out)[2] == fields[2]);
    CHECK((*out)[3].first == 'H');
    CHECK((*out)[3].second.starts_with("uniqguard terminates TLS, so a client certificate"));
}

TEST_CASE("Other login refusals are relayed unchanged") {
    SECTION("a wrong password") {
        const auto body = error_body({{'S', "FATAL"},
                                      {'C', "28P01"},
                                      {'M', "password authentication failed for user \"bob\""}});
        CHECK_FALSE(explain_pg_client_certificate_refusal(util::as_bytes(body)));
    }
    SECTION("the certificate text under another SQLSTATE") {
        auto fields = server_refusal;
        fields[2].second = "08P01";
        const auto body = error_body(fields);
        CHECK_FALSE(explain_pg_client_certificate_refusal(util::as_bytes(body)));
    }
    SECTION("a translated server (lc_messages): matched in English only") {
        auto fields = server_refusal;
        fields[3].second = "la connexion requiert un certificat client valide";
        const auto body = error_body(fields);
        CHECK_FALSE(explain_pg_client_certificate_refusal(util::as_bytes(body)));
    }
    SECTION("a malformed body") {
        const std::string body = "SFATAL";  // no terminating NULs
        CHECK_FALSE(explain_pg_client_certificate_refusal(util::as_bytes(body)));
    }
}

TEST_CASE("MySQL: access denied to a client that presented a certificate is explained") {
    const auto err =
        mysql_err(1045, "Access denied for user 'x509'@'localhost' (using password: NO)");
    const auto explained = explain_mysql_client_certificate_refusal(util::as_bytes(err), true);
    REQUIRE(explained);
    CHECK(*explained ==
          err +
              "; uniqguard terminates TLS, so a client certificate cannot reach the database "
              "server, which sees the proxy's connection: if this user is to log in with a "
              "certificate, give it a password for the proxy's address instead (see "
              "uniqguard's docs/authentication.md, \"Client certificates\")");
    // Without a certificate, or for another error, the server's ERR goes as it is.
    CHECK_FALSE(explain_mysql_client_certificate_refusal(util::as_bytes(err), false));
    const auto other = mysql_err(1044, "Access denied for user 'x509'@'%' to database 'app'");
    CHECK_FALSE(explain_mysql_client_certificate_refusal(util::as_bytes(other), true));
    const std::string truncated = err.substr(0, 6);
    CHECK_FALSE(explain_mysql_client_certificate_refusal(util::as_bytes(truncated), true));
}

TEST_CASE("No TLS, no certificate") { CHECK_FALSE(client_presented_certificate(nullptr)); }
