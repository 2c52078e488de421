#include "protocol/mysql/handshake.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "protocol/mysql/capabilities.hpp"

using namespace uniqguard::protocol::mysql;
using uniqguard::util::as_bytes;

namespace {
std::string le32(std::uint32_t v) {
    return {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
            static_cast<char>(v >> 24)};
}
std::string le16(std::uint16_t v) { return {static_cast<char>(v), static_cast<char>(v >> 8)}; }

// A MariaDB 10.11 HandshakeV10, byte by byte as the protocol documentation lays it out.
std::string mariadb_handshake(std::uint32_t caps, std::uint32_t extended) {
    std::string p;
    p += '\x0a';
    p += std::string("5.5.5-10.11.19-MariaDB-0+deb12u1\0", 33);
    p += le32(42);
    p += "abcdefgh";  // scramble, first 8 bytes
    p += '\0';
    p += le16(static_cast<std::uint16_t>(caps));
    p += '\x2d';  // utf8mb4_general_ci
    p += le16(0x0002);
    p += le16(static_cast<std::uint16_t>(caps >> 16));
    p += '\x15';  // 21 bytes of scramble
    p += std::string(6, '\0');
    p += le32(extended);
    p += std::string("ijklmnopqrst\0", 13);
    p += std::string("mysql_native_password\0", 22);
    return p;
}

std::string mysql8_handshake(std::uint32_t caps) {
    std::string p;
    p += '\x0a';
    p += std::string("8.0.36\0", 7);
    p += le32(7);
    p += "ABCDEFGH";
    p += '\0';
    p += le16(static_cast<std::uint16_t>(caps));
    p += '\xff';
    p += le16(0x0002);
    p += le16(static_cast<std::uint16_t>(caps >> 16));
    p += '\x15';
    p += std::string(10, '\0');
    p += std::string("IJKLMNOPQRST\0", 13);
    p += std::string("caching_sha2_password\0", 22);
    return p;
}

constexpr std::uint32_t mariadb_caps = 0x81BFF7FE;  // bit 0 clear: extended flags follow
constexpr std::uint32_t mariadb_extended = 0x1D;    // progress, bulk, ext. metadata, cache
}  // namespace

TEST_CASE("MariadbHandshakeIsReadWithItsExtendedCapabilities", "[mysql][handshake]") {
    const auto payload = mariadb_handshake(mariadb_caps, mariadb_extended);
    auto hs = decode_server_handshake(as_bytes(payload));
    REQUIRE(hs);
    CHECK(hs->flavour == Flavour::mariadb);
    CHECK(hs->server_version == "5.5.5-10.11.19-MariaDB-0+deb12u1");
    CHECK(hs->connection_id == 42);
    CHECK(hs->scramble == "abcdefghijklmnopqrst");
    CHECK(hs->auth_plugin == "mysql_native_password");
    CHECK(hs->capabilities == (std::uint64_t{mariadb_extended} << 32 | mariadb_caps));
    CHECK(hs->extended_capabilities_offset == 1 + 33 + 4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 6);
}

TEST_CASE("OfferToClientDropsCompressionBulkAndMetadataCache", "[mysql][handshake]") {
    const auto payload = mariadb_handshake(mariadb_caps, mariadb_extended);
    auto hs = decode_server_handshake(as_bytes(payload));
    REQUIRE(hs);
    const auto offered = capabilities_offered_to_client(hs->capabilities, false);
    CHECK_FALSE(offered & capability::compress);
    CHECK_FALSE(offered & capability::ssl);
    CHECK_FALSE(offered & capability::mariadb_stmt_bulk_operations);
    CHECK_FALSE(offered & capability::mariadb_cache_metadata);
    CHECK(offered & capability::mariadb_progress);
    CHECK(offered & capability::deprecate_eof);
    CHECK(offered & capability::multi_statements);
    const auto rewritten = rewrite_server_handshake(as_bytes(payload), *hs, offered);
    // Only the capability bytes differ: low word 0xF7FE -> 0xF7DE (compress out), the high
    // word unchanged, extended 0x1D -> 0x09.
    REQUIRE(rewritten.size() == payload.size());
    std::string expected = payload;
    expected.replace(hs->capabilities_low_offset, 2, le16(0xF7DE));
    expected.replace(hs->extended_capabilities_offset, 4, le32(0x09));
    CHECK(rewritten == expected);
    // With TLS toward clients, SSL is offered although the server has none.
    const auto with_tls = capabilities_offered_to_client(hs->capabilities, true);
    CHECK(with_tls == (offered | capability::ssl));
}

TEST_CASE("Mysql8HandshakeLosesQueryAttributes", "[mysql][handshake]") {
    const std::uint32_t caps = 0xDFFFFFFF & ~static_cast<std::uint32_t>(capability::reserved);
    const auto payload = mysql8_handshake(caps);
    auto hs = decode_server_handshake(as_bytes(payload));
    REQUIRE(hs);
    CHECK(hs->flavour == Flavour::mysql);
    CHECK(hs->extended_capabilities_offset == 0);
    CHECK(hs->scramble == "ABCDEFGHIJKLMNOPQRST");
    CHECK(hs->auth_plugin == "caching_sha2_password");
    const auto offered = capabilities_offered_to_client(hs->capabilities, false);
    CHECK_FALSE(offered & capability::query_attributes);
    CHECK_FALSE(offered & capability::optional_resultset_metadata);
    CHECK_FALSE(offered & capability::zstd_compression);
    CHECK_FALSE(offered & capability::multi_factor_authentication);
    CHECK(offered & capability::long_password);
}

TEST_CASE("NotProtocol10IsRefused", "[mysql][handshake]") {
    CHECK_FALSE(
        decode_server_handshake(as_bytes(std::string("\x09"
                                                     "4.0\0",
                                                     5))));
    CHECK_FALSE(
        decode_server_handshake(as_bytes(std::string("\x0a"
                                                     "8.0",
                                                     4))));  // no NUL
    CHECK_FALSE(decode_server_handshake({}));
}

namespace {
// A MariaDB client's HandshakeResponse41: extended flags in bytes 28-31.
std::string mariadb_response(std::uint32_t caps, std::uint32_t extended) {
    std::string p;
    p += le32(caps);
    p += le32(16 << 20);
    p += '\x2d';
    p += std::string(19, '\0');
    p += le32(extended);
    p += std::string("app\0", 4);
    p += '\x14';
    p += std::string(20, '\x5a');
    p += std::string("shop\0", 5);
    p += std::string("mysql_native_password\0", 22);
    p += '\x00';  // no attributes
    return p;
}
}  // namespace

TEST_CASE("ClientResponseIsReadAndItsFlagsRewrittenInPlace", "[mysql][handshake]") {
    const std::uint32_t caps = static_cast<std::uint32_t>(
        capability::protocol_41 | capability::secure_connection | capability::plugin_auth |
        capability::connect_with_db | capability::connect_attrs | capability::compress |
        capability::multi_statements | capability::deprecate_eof);
    const auto payload = mariadb_response(caps, 0x05);  // progress + bulk
    auto r = decode_client_handshake(as_bytes(payload));
    REQUIRE(r);
    CHECK_FALSE(r->ssl_request);
    CHECK(r->has_extended_capabilities);
    CHECK(r->user == "app");
    CHECK(r->auth_response == std::string(20, '\x5a'));
    CHECK(r->database == "shop");
    CHECK(r->auth_plugin == "mysql_native_password");
    CHECK(r->capabilities == (std::uint64_t{0x05} << 32 | caps));

    const auto offered =
        capabilities_offered_to_client(std::uint64_t{mariadb_extended} << 32 | mariadb_caps, false);
    const auto to_server = capabilities_sent_to_server(r->capabilities, offered, true);
    CHECK(to_server ==
          ((std::uint64_t{0x01} << 32) |
           (caps & ~static_cast<std::uint32_t>(capability::compress)) | capability::ssl));
    const auto rewritten = rewrite_client_handshake(as_bytes(payload), *r, to_server);
    std::string expected = payload;
    expected.replace(0, 4, le32(static_cast<std::uint32_t>(to_server)));
    expected.replace(28, 4, le32(0x01));
    CHECK(rewritten == expected);

    const auto request = ssl_request_from(as_bytes(rewritten));
    CHECK(request == expected.substr(0, 32));
}

TEST_CASE("SslRequestIsThe32BytePrefix", "[mysql][handshake]") {
    const std::uint32_t caps = static_cast<std::uint32_t>(
        capability::protocol_41 | capability::ssl | capability::long_password);
    std::string p = le32(caps) + le32(1 << 24) + '\x21' + std::string(23, '\0');
    auto r = decode_client_handshake(as_bytes(p));
    REQUIRE(r);
    CHECK(r->ssl_request);
    CHECK_FALSE(r->has_extended_capabilities);
    // 32 bytes without the SSL flag is no response at all.
    p.replace(0, 4, le32(caps & ~static_cast<std::uint32_t>(capability::ssl)));
    CHECK_FALSE(decode_client_handshake(as_bytes(p)));
    // Protocol 3.20 clients are refused.
    std::string old =
        le32(static_cast<std::uint32_t>(capability::long_password)) + std::string(40, 'x');
    CHECK_FALSE(decode_client_handshake(as_bytes(old)));
}
