#include "protocol/postgres/scram_server.hpp"

#include <catch2/catch.hpp>

#include "../../scram_rfc7677.hpp"
#include "pgclient/scram.hpp"
#include "util/base64.hpp"

using namespace uniqguard::protocol::postgres;
using uniqguard::pgclient::ScramClient;
using uniqguard::pgclient::ScramKeys;
using uniqguard::util::base64_decode;
using uniqguard::util::base64_encode;

namespace {
// RFC 7677, section 3 (../../scram_rfc7677.hpp): password "pencil".
using namespace uniqguard::test;
constexpr const char* rfc_client_first = rfc7677::client_first;
constexpr const char* rfc_server_nonce = rfc7677::server_nonce;
constexpr const char* rfc_server_first = rfc7677::server_first;
constexpr const char* rfc_client_final = rfc7677::client_final;
constexpr const char* rfc_server_final = rfc7677::server_final;
// What PostgreSQL would store for "pencil" with the RFC's salt and iteration count (computed
// with Python's hashlib, independently of our code), and the ClientKey behind the RFC's proof.
constexpr const char* pencil_verifier =
    "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
    "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=";
constexpr const char* pencil_client_key = "pg/JI9Z+hkSpLRa5btpe9GVrDHJcSEN0viVTVXaZbos=";

scram::Verifier pencil() {
    auto v = scram::parse_verifier(pencil_verifier);
    REQUIRE(v);
    return *v;
}

std::string key_text(const scram::Key& k) { return base64_encode(scram::as_chars(k)); }

scram::Key key_of(const char* text) {
    const auto raw = base64_decode(text);
    REQUIRE(raw);
    REQUIRE(raw->size() == scram::key_size);
    scram::Key k{};
    std::copy(raw->begin(), raw->end(), k.begin());
    return k;
}

// 32 bytes standing for the hash of the proxy's certificate.
const std::string binding(32, '\x5c');

void check_failure(const ScramServerStep& step, const char* sqlstate, const char* message,
                   const char* detail = "") {
    REQUIRE(step.failure);
    CHECK(step.message.empty());
    CHECK(step.failure->sqlstate == sqlstate);
    CHECK(step.failure->message == message);
    CHECK(step.failure->detail == detail);
}
}  // namespace

TEST_CASE("ScramVerifierIsParsed", "[scram]") {
    const auto v = pencil();
    CHECK(v.iterations == 4096);
    CHECK(v.salt_base64 == "W22ZaJ0SNY7soEsUEjb6gQ==");
    CHECK(key_text(v.stored_key.bytes) == "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=");
    CHECK(key_text(v.server_key.bytes) == "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=");
}

TEST_CASE("ScramVerifierRefusesWhatIsNotOne", "[scram]") {
    const char* bad[] = {
        "",
        "md5a3556571e93b0d20722ba62be61e8c2d",  // an md5 hash: relayed, never terminated
        "pencil",                               // a plaintext password (old servers)
        "SCRAM-SHA-256$0:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
        "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",  // no iterations
        "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=",
        "SCRAM-SHA-256$4096:***$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
        "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
        "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7Bke:"
        "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",  // a short StoredKey
        "SCRAM-SHA-1$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
        "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
    };
    for (const char* text : bad) {
        INFO(text);
        CHECK_FALSE(scram::parse_verifier(text));
    }
}

TEST_CASE("ScramServerReproducesRfc7677Example", "[scram]") {
    ScramServer server(pencil(), "user", "", rfc_server_nonce);
    CHECK(server.mechanisms() == std::vector<std::string>{"SCRAM-SHA-256"});
    const auto first = server.handle_client_first("SCRAM-SHA-256", rfc_client_first);
    REQUIRE(first.ok());
    CHECK(first.message == rfc_server_first);
    CHECK_FALSE(server.authenticated());
    const auto final_step = server.handle_client_final(rfc_client_final);
    REQUIRE(final_step.ok());
    CHECK(final_step.message == rfc_server_final);
    CHECK(server.authenticated());
    // ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage), and H(ClientKey) = StoredKey.
    CHECK(key_text(server.client_key()) == pencil_client_key);
}

TEST_CASE("ScramServerRefusesAWrongPasswordAsTheServerDoes", "[scram]") {
    ScramServer server(pencil(), "alice", "", rfc_server_nonce);
    ScramClient client("pencil2", "rOprNGfwEbeRWgbNEkqO");
    const auto first = server.handle_client_first("SCRAM-SHA-256", client.client_first_message());
    REQUIRE(first.ok());
    const auto answer = client.handle_server_first(first.message);
    REQUIRE(answer.ok());
    check_failure(server.handle_client_final(answer.message), "28P01",
                  "password authentication failed for user \"alice\"");
    CHECK_FALSE(server.authenticated());
    CHECK(key_text(server.client_key()) == key_text(scram::Key{}));  // nothing kept
}

TEST_CASE("ScramServerMockExchangeFailsLikeAWrongPassword", "[scram]") {
    // No such role (or no SCRAM verifier): a salt that looks real, 4096 iterations, and the
    // same failure as a wrong password, even with the password that would be right elsewhere.
    ScramServer server(std::nullopt, "ghost", "", "SERVERNONCE");
    const auto first = server.handle_client_first("SCRAM-SHA-256", "n,,n=,r=abc");
    REQUIRE(first.ok());
    const std::string salt = ScramServer::mock_salt_base64("ghost");
    CHECK(first.message == "r=abcSERVERNONCE,s=" + salt + ",i=4096");
    CHECK(base64_decode(salt)->size() == 16);
    CHECK(ScramServer::mock_salt_base64("ghost") == salt);   // the same on every attempt
    CHECK(ScramServer::mock_salt_base64("ghost2") != salt);  // and per user
    ScramClient client("pencil", "abc");
    const auto answer = client.handle_server_first(first.message);
    REQUIRE(answer.ok());
    check_failure(server.handle_client_final(answer.message), "28P01",
                  "password authentication failed for user \"ghost\"");
}

TEST_CASE("ScramServerAndKeyClientAgreeWithChannelBinding", "[scram]") {
    // The proxy's whole job in one test: the client binds to the proxy's certificate; the
    // proxy recovers the ClientKey and a key-only client logs in with it.
    ScramServer server(pencil(), "user", binding, "SRV");
    CHECK(server.mechanisms() == std::vector<std::string>{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"});
    ScramKeys client_keys;
    client_keys.client_key.bytes = key_of(pencil_client_key);
    client_keys.server_key = pencil().server_key;
    ScramClient client(client_keys, binding, "CLI");
    CHECK(client.mechanism() == "SCRAM-SHA-256-PLUS");
    CHECK(client.client_first_message() == "p=tls-server-end-point,,n=,r=CLI");
    const auto first =
        server.handle_client_first(client.mechanism(), client.client_first_message());
    REQUIRE(first.ok());
    CHECK(first.message == "r=CLISRV,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
    const auto answer = client.handle_server_first(first.message);
    REQUIRE(answer.ok());
    CHECK(answer.message.starts_with("c=" + base64_encode("p=tls-server-end-point,," + binding) +
                                     ",r=CLISRV,p="));
    const auto final_step = server.handle_client_final(answer.message);
    REQUIRE(final_step.ok());
    CHECK(key_text(server.client_key()) == pencil_client_key);
    CHECK(client.handle_server_final(final_step.message).ok());
    CHECK(client.server_verified());
}

TEST_CASE("ScramServerRefusesAnotherChannelsBinding", "[scram]") {
    // A client bound to another certificate (a man in the middle's) fails the check.
    ScramServer server(pencil(), "user", binding, "SRV");
    ScramKeys keys;
    keys.server_key = pencil().server_key;
    ScramClient client(keys, std::string(32, '\x01'), "CLI");
    const auto first =
        server.handle_client_first(client.mechanism(), client.client_first_message());
    REQUIRE(first.ok());
    const auto answer = client.handle_server_first(first.message);
    REQUIRE(answer.ok());
    check_failure(server.handle_client_final(answer.message), "28000",
                  "SCRAM channel binding check failed");
}

TEST_CASE("ScramServerRefusesTheDowngradeFlagWhenItCanBind", "[scram]") {
    ScramServer tls(pencil(), "user", binding, "SRV");
    check_failure(tls.handle_client_first("SCRAM-SHA-256", "y,,n=,r=abc"), "28000",
                  "SCRAM channel binding negotiation error",
                  "The client supports SCRAM channel binding but thinks the server does not.  "
                  "However, this server does support channel binding.");
    // On a plaintext client connection the proxy cannot bind either: 'y' is honest there.
    ScramServer plain(pencil(), "user", "", "SRV");
    REQUIRE(plain.handle_client_first("SCRAM-SHA-256", "y,,n=,r=abc").ok());
    check_failure(
        plain.handle_client_final("c=biws,r=abcSRV,p=" + base64_encode(std::string(32, 'x'))),
        "08P01", "unexpected SCRAM channel-binding attribute in client-final-message");
}

TEST_CASE("ScramServerRefusesMalformedClientFirstMessagesAsTheServerDoes", "[scram]") {
    struct Case {
        const char* mechanism;
        const char* message;
        const char* sqlstate;
        const char* error;
        const char* detail;
    };
    const Case cases[] = {
        {"SCRAM-SHA-1", "n,,n=,r=abc", "08P01",
         "client selected an invalid SASL authentication mechanism", ""},
        {"SCRAM-SHA-256", "", "08P01", "malformed SCRAM message", "The message is empty."},
        {"SCRAM-SHA-256-PLUS", "n,,n=,r=abc", "08P01", "malformed SCRAM message",
         "The client selected SCRAM-SHA-256-PLUS, but the SCRAM message does not include "
         "channel binding data."},
        {"SCRAM-SHA-256", "p=tls-server-end-point,,n=,r=abc", "08P01", "malformed SCRAM message",
         "The client selected SCRAM-SHA-256 without channel binding, but the SCRAM message "
         "includes channel binding data."},
        {"SCRAM-SHA-256-PLUS", "p=tls-unique,,n=,r=abc", "08P01",
         "unsupported SCRAM channel-binding type \"tls-unique\"", ""},
        {"SCRAM-SHA-256", "x,,n=,r=abc", "08P01", "malformed SCRAM message",
         "Unexpected channel-binding flag \"'x'\"."},
        {"SCRAM-SHA-256", "n;,n=,r=abc", "08P01", "malformed SCRAM message",
         "Comma expected, but found character \"';'\"."},
        {"SCRAM-SHA-256", "n,a=admin,n=,r=abc", "0A000",
         "client uses authorization identity, but it is not supported", ""},
        {"SCRAM-SHA-256", "n,x,n=,r=abc", "08P01", "malformed SCRAM message",
         "Unexpected attribute \"'x'\" in client-first-message."},
        {"SCRAM-SHA-256", "n,,m=ext,n=,r=abc", "0A000",
         "client requires an unsupported SCRAM extension", ""},
        {"SCRAM-SHA-256", "n,,r=abc", "08P01", "malformed SCRAM message",
         "Expected attribute \"n\" but found \"'r'\"."},
        {"SCRAM-SHA-256", "n,,n=,r", "08P01", "malformed SCRAM message",
         "Expected character \"=\" for attribute \"r\"."},
        {"SCRAM-SHA-256", "n,,n=", "08P01", "malformed SCRAM message",
         "Expected attribute \"r\" but found \"0x00\"."},
        {"SCRAM-SHA-256", "n,,n=,r=a b", "08P01", "non-printable characters in SCRAM nonce", ""},
        {"SCRAM-SHA-256", "n,,n=,r=abc,1=x", "08P01", "malformed SCRAM message",
         "Attribute expected, but found invalid character \"'1'\"."},
    };
    for (const auto& c : cases) {
        INFO(c.mechanism << " " << c.message);
        ScramServer server(pencil(), "user", binding, "SRV");
        check_failure(server.handle_client_first(c.mechanism, c.message), c.sqlstate, c.error,
                      c.detail);
    }
    ScramServer server(pencil(), "user", "", "SRV");
    check_failure(server.handle_client_first("SCRAM-SHA-256", std::string("n,,n=,r=a\0b", 11)),
                  "08P01", "malformed SCRAM message",
                  "Message length does not match input length.");
    // Extensions after the nonce are ignored, as by the server.
    ScramServer extended(pencil(), "user", "", "SRV");
    CHECK(extended.handle_client_first("SCRAM-SHA-256", "n,,n=,r=abc,x=1").ok());
}

TEST_CASE("ScramServerRefusesMalformedClientFinalMessagesAsTheServerDoes", "[scram]") {
    const std::string proof = "p=" + base64_encode(std::string(32, 'x'));
    struct Case {
        std::string message;
        const char* error;
        const char* detail;
    };
    const Case cases[] = {
        {"", "malformed SCRAM message", "The message is empty."},
        {"r=abcSRV," + proof, "malformed SCRAM message",
         "Expected attribute \"c\" but found \"'r'\"."},
        {"c=eSws,r=abcSRV," + proof,
         "unexpected SCRAM channel-binding attribute in client-final-message", ""},
        {"c=biws,r=abcSRV,p=AAAA", "malformed SCRAM message",
         "Malformed proof in client-final-message."},
        {"c=biws,r=abcSRV," + proof + ",x=1", "malformed SCRAM message",
         "Garbage found at the end of client-final-message."},
        {"c=biws,r=abcXXX," + proof, "invalid SCRAM response", "Nonce does not match."},
    };
    for (const auto& c : cases) {
        INFO(c.message);
        ScramServer server(pencil(), "user", "", "SRV");
        REQUIRE(server.handle_client_first("SCRAM-SHA-256", "n,,n=,r=abc").ok());
        check_failure(server.handle_client_final(c.message), "08P01", c.error, c.detail);
    }
}

TEST_CASE("ScramServerRefusesMessagesOutOfOrder", "[scram]") {
    ScramServer server(pencil(), "user", "", "SRV");
    check_failure(server.handle_client_final(rfc_client_final), "08P01", "malformed SCRAM message",
                  "Unexpected client-final-message.");
    ScramServer twice(pencil(), "user", "", "SRV");
    REQUIRE(twice.handle_client_first("SCRAM-SHA-256", "n,,n=,r=abc").ok());
    check_failure(twice.handle_client_first("SCRAM-SHA-256", "n,,n=,r=abc"), "08P01",
                  "malformed SCRAM message", "Unexpected client-first-message.");
}
