// Authentication exchanges as the MySQL and MariaDB protocol documentation describes them,
// played packet by packet through the relay (Debian 12 has no MySQL 8 server to test against).
#include "protocol/mysql/auth_relay.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "protocol/mysql/caching_sha2.hpp"

using namespace uniqguard::protocol::mysql;
using uniqguard::util::as_bytes;

namespace {
const std::string scramble = "0123456789abcdefghij";
const std::string ok_packet("\x00\x00\x00\x02\x00\x00\x00", 7);
const std::string err_packet = "\xff\x15\x04#28000Access denied";
const std::string fast_auth_success("\x01\x03", 2);
const std::string perform_full_auth("\x01\x04", 2);

AuthStepKind server(AuthRelay& relay, const std::string& payload) {
    return relay.on_server_packet(as_bytes(payload)).kind;
}

// A throw-away RSA key pair standing in for the server's (PEM public key, private key).
struct KeyPair {
    std::string public_pem;
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{nullptr, &EVP_PKEY_free};
};
KeyPair make_key_pair() {
    KeyPair pair;
    pair.key.reset(EVP_RSA_gen(2048));
    REQUIRE(pair.key);
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    REQUIRE(PEM_write_bio_PUBKEY(bio.get(), pair.key.get()) == 1);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    pair.public_pem.assign(data, static_cast<std::size_t>(n));
    return pair;
}
std::string decrypt(const KeyPair& pair, const std::string& cipher) {
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        EVP_PKEY_CTX_new(pair.key.get(), nullptr), &EVP_PKEY_CTX_free);
    REQUIRE(EVP_PKEY_decrypt_init(ctx.get()) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) == 1);
    std::size_t n = 0;
    const auto* in = reinterpret_cast<const unsigned char*>(cipher.data());
    REQUIRE(EVP_PKEY_decrypt(ctx.get(), nullptr, &n, in, cipher.size()) == 1);
    std::string out(n, '\0');
    REQUIRE(EVP_PKEY_decrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &n, in,
                             cipher.size()) == 1);
    out.resize(n);
    return out;
}
}  // namespace

TEST_CASE("NativePasswordLoginIsOneOk", "[mysql][auth]") {
    AuthRelay relay("mysql_native_password", scramble, false, false);
    CHECK(server(relay, ok_packet) == AuthStepKind::authenticated);
}

TEST_CASE("WrongPasswordIsTheServersErr", "[mysql][auth]") {
    AuthRelay relay("mysql_native_password", scramble, false, false);
    CHECK(server(relay, err_packet) == AuthStepKind::failed);
}

TEST_CASE("AuthSwitchToEd25519WaitsForTheClientsSignature", "[mysql][auth]") {
    AuthRelay relay("mysql_native_password", scramble, false, false);
    const std::string nonce(32, '\x7f');
    const std::string switch_request =
        "\xfe"
        "client_ed25519" +
        std::string(1, '\0') + nonce;
    CHECK(server(relay, switch_request) == AuthStepKind::forward_then_read_client);
    CHECK(relay.plugin() == "client_ed25519");
    const std::string signature(64, 's');
    CHECK(relay.on_client_packet(as_bytes(signature)).kind == AuthStepKind::forward_to_server);
    CHECK(server(relay, ok_packet) == AuthStepKind::authenticated);
}

TEST_CASE("CachingSha2FastPathNeedsNoClientAnswer", "[mysql][auth]") {
    AuthRelay relay(std::string(caching_sha2_password), scramble, false, true);
    CHECK(server(relay, fast_auth_success) == AuthStepKind::forward_to_client);
    CHECK(server(relay, ok_packet) == AuthStepKind::authenticated);
}

TEST_CASE("CachingSha2FullPathOverTlsOnBothLegsRelaysTheCleartext", "[mysql][auth]") {
    AuthRelay relay(std::string(caching_sha2_password), scramble, true, true);
    CHECK(server(relay, perform_full_auth) == AuthStepKind::forward_then_read_client);
    const std::string cleartext("secret\0", 7);
    CHECK(relay.on_client_packet(as_bytes(cleartext)).kind == AuthStepKind::forward_to_server);
    CHECK(server(relay, ok_packet) == AuthStepKind::authenticated);
}

TEST_CASE("CachingSha2FullPathPlaintextBothLegsRelaysTheKeyExchange", "[mysql][auth]") {
    AuthRelay relay(std::string(caching_sha2_password), scramble, false, false);
    CHECK(server(relay, perform_full_auth) == AuthStepKind::forward_then_read_client);
    // The client asks for the server's key, gets it, sends the password encrypted with it.
    CHECK(relay.on_client_packet(as_bytes(std::string(1, '\x02'))).kind ==
          AuthStepKind::forward_to_server);
    CHECK(server(relay, "\x01-----BEGIN PUBLIC KEY-----...") ==
          AuthStepKind::forward_then_read_client);
    CHECK(relay.on_client_packet(as_bytes(std::string(256, 'e'))).kind ==
          AuthStepKind::forward_to_server);
    CHECK(server(relay, ok_packet) == AuthStepKind::authenticated);
}

TEST_CASE("CachingSha2FullPathTlsClientPlaintextServerIsEncryptedByTheProxy", "[mysql][auth]") {
    const auto pair = make_key_pair();
    AuthRelay relay(std::string(caching_sha2_password), scramble, true, false);
    CHECK(server(relay, perform_full_auth) == AuthStepKind::forward_then_read_client);
    // The client, on TLS, sends the password in clear (with its NUL).
    auto step = relay.on_client_packet(as_bytes(std::string("secret\0", 7)));
    REQUIRE(step.kind == AuthStepKind::send_to_server);
    CHECK(step.payload == std::string(1, '\x02'));  // request the server's public key
    step = relay.on_server_packet(as_bytes("\x01" + pair.public_pem));
    REQUIRE(step.kind == AuthStepKind::send_to_server);
    CHECK(step.payload.size() == 256);  // one RSA-2048 block
    // What the server decrypts is (password + NUL) XOR the scramble.
    const std::string mixed = decrypt(pair, step.payload);
    REQUIRE(mixed.size() == 7);
    std::string password;
    for (std::size_t i = 0; i < mixed.size(); ++i)
        password.push_back(static_cast<char>(mixed[i] ^ scramble[i % scramble.size()]));
    CHECK(password == std::string("secret\0", 7));
    CHECK(server(relay, ok_packet) == AuthStepKind::authenticated);
}

TEST_CASE("CachingSha2FullPathAfterAuthSwitchUsesTheNewScramble", "[mysql][auth]") {
    const auto pair = make_key_pair();
    AuthRelay relay("mysql_native_password", scramble, true, false);
    const std::string fresh = "ABCDEFGHIJKLMNOPQRST";
    CHECK(server(relay,
                 "\xfe"
                 "caching_sha2_password" +
                     std::string(1, '\0') + fresh + std::string(1, '\0')) ==
          AuthStepKind::forward_then_read_client);
    CHECK(relay.on_client_packet(as_bytes(std::string(32, 'h'))).kind ==
          AuthStepKind::forward_to_server);
    CHECK(server(relay, perform_full_auth) == AuthStepKind::forward_then_read_client);
    CHECK(relay.on_client_packet(as_bytes(std::string("pw\0", 3))).kind ==
          AuthStepKind::send_to_server);
    auto step = relay.on_server_packet(as_bytes("\x01" + pair.public_pem));
    REQUIRE(step.kind == AuthStepKind::send_to_server);
    const std::string mixed = decrypt(pair, step.payload);
    REQUIRE(mixed.size() == 3);
    CHECK(static_cast<char>(mixed[0] ^ fresh[0]) == 'p');
    CHECK(static_cast<char>(mixed[2] ^ fresh[2]) == '\0');
}

TEST_CASE("CachingSha2FullPathPlaintextClientTlsServerIsRefusedClearly", "[mysql][auth]") {
    AuthRelay relay(std::string(caching_sha2_password), scramble, false, true);
    auto step = relay.on_server_packet(as_bytes(perform_full_auth));
    REQUIRE(step.kind == AuthStepKind::refuse);
    CHECK(step.error.code == 1251);
    CHECK(step.error.sqlstate == "08004");
    CHECK(step.error.message.find("caching_sha2_password") != std::string::npos);
    CHECK(step.error.message.find("backend.tls") != std::string::npos);
}

TEST_CASE("ABadPublicKeyIsAnAccessErrorNotACrash", "[mysql][auth]") {
    AuthRelay relay(std::string(caching_sha2_password), scramble, true, false);
    server(relay, perform_full_auth);
    relay.on_client_packet(as_bytes(std::string("pw\0", 3)));
    auto step = relay.on_server_packet(as_bytes(std::string("\x01not a key")));
    CHECK(step.kind == AuthStepKind::refuse);
    CHECK(step.error.code == 1045);
}

TEST_CASE("UnexpectedServerPacketDuringAuthIsRefused", "[mysql][auth]") {
    AuthRelay relay("mysql_native_password", scramble, false, false);
    CHECK(server(relay, "\x03whatever") == AuthStepKind::refuse);
    CHECK(server(relay, "") == AuthStepKind::refuse);
}

TEST_CASE("EncryptionRejectsAPasswordTooLongForTheKey", "[mysql][auth]") {
    const auto pair = make_key_pair();
    CHECK(encrypt_password_for_server(std::string(300, 'x'), scramble, pair.public_pem) ==
          std::nullopt);
    CHECK(encrypt_password_for_server("ok", scramble, pair.public_pem).has_value());
}
