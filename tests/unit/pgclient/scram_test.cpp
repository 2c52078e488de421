#include "pgclient/scram.hpp"

#include <catch2/catch.hpp>

#include "../scram_rfc7677.hpp"

using namespace uniqguard::pgclient;

namespace {
// RFC 7677, section 3 (../scram_rfc7677.hpp).
using namespace uniqguard::test;
constexpr const char* rfc_nonce = rfc7677::client_nonce;
constexpr const char* rfc_server_first = rfc7677::server_first;
constexpr const char* rfc_client_final = rfc7677::client_final;
constexpr const char* rfc_server_final = rfc7677::server_final;
}  // namespace

TEST_CASE("ScramClientReproducesRfc7677Example", "[pgclient]") {
    ScramClient scram("pencil", rfc_nonce, "user");
    CHECK(scram.client_first_message() == "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    const auto step = scram.handle_server_first(rfc_server_first);
    REQUIRE(step.ok());
    CHECK(step.message == rfc_client_final);
    CHECK_FALSE(scram.server_verified());
    const auto final_step = scram.handle_server_final(rfc_server_final);
    CHECK(final_step.ok());
    CHECK(scram.server_verified());
}

TEST_CASE("ScramClientRefusesAWrongServerSignature", "[pgclient]") {
    ScramClient scram("pencil", rfc_nonce, "user");
    REQUIRE(scram.handle_server_first(rfc_server_first).ok());
    // The signature of another password: a server that does not know ours.
    const auto step = scram.handle_server_final("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    CHECK_FALSE(step.ok());
    CHECK_FALSE(scram.server_verified());
}

TEST_CASE("ScramClientWithWrongPasswordSendsAnotherProof", "[pgclient]") {
    ScramClient scram("pencil2", rfc_nonce, "user");
    const auto step = scram.handle_server_first(rfc_server_first);
    REQUIRE(step.ok());
    CHECK(step.message != rfc_client_final);
    CHECK_FALSE(scram.handle_server_final(rfc_server_final).ok());
}

TEST_CASE("ScramClientSendsAnEmptyUserNameForPostgres", "[pgclient]") {
    ScramClient scram("secret", "abc");
    CHECK(scram.client_first_message() == "n,,n=,r=abc");
}

TEST_CASE("ScramClientEscapesTheUserName", "[pgclient]") {
    ScramClient scram("secret", "abc", "a,b=c");
    CHECK(scram.client_first_message() == "n,,n=a=2Cb=3Dc,r=abc");
}

TEST_CASE("ScramClientGeneratesARandomNonce", "[pgclient]") {
    ScramClient a("x"), b("x");
    const auto first_a = a.client_first_message();
    CHECK(first_a.starts_with("n,,n=,r="));
    CHECK(first_a.size() == std::string("n,,n=,r=").size() + 24);  // 18 bytes in base64
    CHECK(first_a != b.client_first_message());
}

TEST_CASE("ScramClientRefusesBadServerFirstMessages", "[pgclient]") {
    const char* bad[] = {
        "",
        "r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",        // no server part
        "r=someoneelse%hv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",              // not our nonce
        "r=rOprNGfwEbeRWgbNEkqOxx,s=***,i=4096",                           // salt not base64
        "r=rOprNGfwEbeRWgbNEkqOxx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0",         // no iterations
        "r=rOprNGfwEbeRWgbNEkqOxx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=12x",       // not a number
        "r=rOprNGfwEbeRWgbNEkqOxx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999",  // too many
        "m=ext,r=rOprNGfwEbeRWgbNEkqOxx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        "s=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqOxx,i=4096",  // wrong order
    };
    for (const char* message : bad) {
        ScramClient scram("pencil", rfc_nonce, "user");
        INFO(message);
        CHECK_FALSE(scram.handle_server_first(message).ok());
    }
}

TEST_CASE("ScramClientRefusesServerErrorsAndOutOfOrderMessages", "[pgclient]") {
    ScramClient scram("pencil", rfc_nonce, "user");
    CHECK_FALSE(scram.handle_server_final(rfc_server_final).ok());  // before server-first
    REQUIRE(scram.handle_server_first(rfc_server_first).ok());
    CHECK_FALSE(scram.handle_server_first(rfc_server_first).ok());  // twice
    const auto step = scram.handle_server_final("e=invalid-proof");
    CHECK_FALSE(step.ok());
    CHECK(step.error.find("invalid-proof") != std::string::npos);
}

TEST_CASE("Base64RoundTripsAndIsStrict", "[pgclient]") {
    CHECK(base64_encode("") == "");
    CHECK(base64_encode("f") == "Zg==");
    CHECK(base64_encode("fo") == "Zm8=");
    CHECK(base64_encode("foo") == "Zm9v");
    CHECK(base64_encode("n,,") == "biws");
    CHECK(base64_decode("Zg==") == std::optional<std::string>("f"));
    CHECK(base64_decode("Zm8=") == std::optional<std::string>("fo"));
    CHECK(base64_decode("Zm9vYmFy") == std::optional<std::string>("foobar"));
    CHECK_FALSE(base64_decode("Zm9"));
    CHECK_FALSE(base64_decode("Z=9v"));
    CHECK_FALSE(base64_decode("Zm9v!A=="));
    CHECK_FALSE(base64_decode("=Zm9"));
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    CHECK(base64_decode(base64_encode(all)) == std::optional<std::string>(all));
}

TEST_CASE("ScramClientWithKeysSendsThePasswordsProof", "[pgclient]") {
    // The keys "pencil" gives with the RFC's salt and 4096 iterations (Python's hashlib): a
    // client holding only them proves exactly what the password would.
    ScramKeys keys;
    const auto client_key = base64_decode("pg/JI9Z+hkSpLRa5btpe9GVrDHJcSEN0viVTVXaZbos=");
    const auto server_key = base64_decode("wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=");
    REQUIRE(client_key);
    REQUIRE(server_key);
    std::copy(client_key->begin(), client_key->end(), keys.client_key.bytes.begin());
    std::copy(server_key->begin(), server_key->end(), keys.server_key.bytes.begin());
    ScramClient with_password("pencil", rfc_nonce);
    ScramClient with_keys(keys, "", rfc_nonce);
    CHECK(with_keys.mechanism() == "SCRAM-SHA-256");
    CHECK(with_keys.client_first_message() == "n,,n=,r=rOprNGfwEbeRWgbNEkqO");
    CHECK(with_keys.client_first_message() == with_password.client_first_message());
    const auto a = with_password.handle_server_first(rfc_server_first);
    const auto b = with_keys.handle_server_first(rfc_server_first);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(b.message.starts_with("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p="));
    CHECK(b.message == a.message);
    // The RFC's server signature is for its AuthMessage (with "n=user"), not ours: refused.
    CHECK_FALSE(with_keys.handle_server_final(rfc_server_final).ok());
}

TEST_CASE("ScramClientWithKeysBindsToTheServersCertificate", "[pgclient]") {
    ScramKeys keys;
    const std::string binding(32, '\x7f');
    ScramClient scram(keys, binding, "abc");
    CHECK(scram.mechanism() == "SCRAM-SHA-256-PLUS");
    CHECK(scram.client_first_message() == "p=tls-server-end-point,,n=,r=abc");
    const auto step = scram.handle_server_first("r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
    REQUIRE(step.ok());
    CHECK(step.message.starts_with("c=" + base64_encode("p=tls-server-end-point,," + binding) +
                                   ",r=abcdef,p="));
}
