#include "protocol/postgres/auth.hpp"

#include <catch2/catch.hpp>

#include "protocol/postgres/message_codes.hpp"

using namespace uniqguard::protocol::postgres;
using uniqguard::util::as_bytes;

TEST_CASE("SaslMechanismListIsDecoded", "[auth]") {
    const std::string body("\0\0\0\x0aSCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0", 38);
    CHECK(authentication_code(as_bytes(body)) == auth_code::sasl);
    auto m = decode_sasl_mechanisms(as_bytes(body));
    REQUIRE(m);
    CHECK(*m == std::vector<std::string>{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"});
}

TEST_CASE("SaslMechanismListMustBeTerminated", "[auth]") {
    CHECK_FALSE(decode_sasl_mechanisms(as_bytes(std::string("\0\0\0\x0aSCRAM-SHA-256\0", 18))));
    CHECK_FALSE(decode_sasl_mechanisms(as_bytes(std::string("\0\0\0\x0aSCRAM", 9))));
}

TEST_CASE("SaslOfferWithoutPlusIsEncodedAsTheServerWould", "[auth]") {
    const auto wire = encode_authentication_sasl({"SCRAM-SHA-256"});
    CHECK(wire == std::string("R\0\0\0\x17\0\0\0\x0aSCRAM-SHA-256\0\0", 24));
}

TEST_CASE("SaslInitialResponseGs2FlagIsRead", "[auth]") {
    const std::string first = "y,,n=,r=abcdef";
    std::string body("SCRAM-SHA-256\0", 14);
    body += std::string("\0\0\0", 3) + static_cast<char>(first.size()) + first;
    auto r = decode_sasl_initial_response(as_bytes(body));
    REQUIRE(r);
    CHECK(r->mechanism == "SCRAM-SHA-256");
    CHECK(r->gs2_flag == 'y');
    CHECK(uniqguard::util::as_chars(r->data) == first);
}

TEST_CASE("SaslInitialResponseTruncatedIsRefused", "[auth]") {
    std::string body("SCRAM-SHA-256\0\0\0\0\x20n,,", 21);
    CHECK_FALSE(decode_sasl_initial_response(as_bytes(body)));
    CHECK_FALSE(decode_sasl_initial_response(as_bytes(std::string("SCRAM"))));
}

TEST_CASE("SaslInitialResponseWithTrailingBytesIsRefused", "[auth]") {
    // As the server refuses it (pq_getmsgend): the response's length must end the message.
    const std::string first = "n,,n=,r=abcdef";
    std::string body("SCRAM-SHA-256\0", 14);
    body += std::string("\0\0\0", 3) + static_cast<char>(first.size()) + first;
    REQUIRE(decode_sasl_initial_response(as_bytes(body)));
    CHECK_FALSE(decode_sasl_initial_response(as_bytes(body + "x")));
}

TEST_CASE("SaslContinueAndFinalAreEncodedAsTheServerWould", "[auth]") {
    CHECK(encode_authentication_sasl_continue("r=ab,s=c,i=1") ==
          std::string("R\0\0\0\x14\0\0\0\x0br=ab,s=c,i=1", 21));
    CHECK(encode_authentication_sasl_final("v=xyz") ==
          std::string("R\0\0\0\x0d\0\0\0\x0cv=xyz", 14));
}
