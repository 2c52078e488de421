#include "guard/key_fingerprint.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <vector>

#include "guard_test_util.hpp"

using namespace guard_test;

TEST_CASE("EqualKeysHaveEqualFingerprints", "[guard]") {
    const std::vector<NormalizedValue> a = {text("int4", " 2 "), text("numeric", "1.50"),
                                            text("bpchar", "x  ")};
    const std::vector<NormalizedValue> b = {binary("int4", be(2, 4)), text("numeric", "1.5e0"),
                                            text("bpchar", "x")};
    REQUIRE(key_fingerprint(a));
    CHECK(key_fingerprint(a) == key_fingerprint(b));
}

TEST_CASE("PartsAreLengthPrefixed", "[guard]") {
    const std::vector<NormalizedValue> ab_c = {ok("ab"), ok("c")};
    const std::vector<NormalizedValue> a_bc = {ok("a"), ok("bc")};
    const std::vector<NormalizedValue> abc = {ok("abc")};
    CHECK(key_fingerprint(ab_c) != key_fingerprint(a_bc));
    CHECK(key_fingerprint(ab_c) != key_fingerprint(abc));
    std::string k1, k2;
    for (const auto& p : ab_c) append_key_part(k1, p);
    for (const auto& p : a_bc) append_key_part(k2, p);
    CHECK(k1 == std::string("\1\0\0\0\2ab\1\0\0\0\1c", 13));
    CHECK(k1 != k2);
}

TEST_CASE("NullIsNeitherEmptyNorAbsent", "[guard]") {
    const std::vector<NormalizedValue> null_x = {NormalizedValue::null(), ok("x")};
    const std::vector<NormalizedValue> empty_x = {ok(""), ok("x")};
    const std::vector<NormalizedValue> x = {ok("x")};
    const std::vector<NormalizedValue> x_null = {ok("x"), NormalizedValue::null()};
    std::set<std::uint64_t> fps = {*key_fingerprint(null_x), *key_fingerprint(empty_x),
                                   *key_fingerprint(x), *key_fingerprint(x_null)};
    CHECK(fps.size() == 4);
    CHECK(key_has_null(null_x));
    CHECK(key_has_null(x_null));
    CHECK_FALSE(key_has_null(empty_x));
    // With nulls_distinct = false two NULL keys are one key.
    CHECK(key_fingerprint(null_x) ==
          key_fingerprint(std::vector<NormalizedValue>{NormalizedValue::null(), ok("x")}));
}

TEST_CASE("KeysWithAnUnreadPartHaveNoFingerprint", "[guard]") {
    CHECK_FALSE(key_fingerprint(std::vector<NormalizedValue>{ok("x"), kInvalid}));
    CHECK_FALSE(key_fingerprint(std::vector<NormalizedValue>{kUnsure, ok("x")}));
    std::string k = "prefix";
    CHECK_FALSE(append_key_part(k, kUnsure));
    CHECK(k == "prefix");
}

TEST_CASE("FingerprintIsXxh3OfTheEncodedKeyAndNeverZero", "[guard]") {
    const std::vector<NormalizedValue> key = {ok("a")};
    std::string encoded;
    append_key_part(encoded, key[0]);
    CHECK(*key_fingerprint(key) == fingerprint_encoded_key(encoded));
    CHECK(fingerprint_encoded_key(encoded, 0) != fingerprint_encoded_key(encoded, 12345));
    CHECK(key_fingerprint(key, 12345) == fingerprint_encoded_key(encoded, 12345));
    std::set<std::uint64_t> seen;
    int zeros = 0;
    for (int i = 0; i < 100000; ++i) {
        const auto fp = fingerprint_encoded_key(std::to_string(i));
        zeros += fp == 0;
        seen.insert(fp);
    }
    CHECK(zeros == 0);
    CHECK(seen.size() == 100000);
    CHECK(fingerprint_encoded_key("") != 0);
}
