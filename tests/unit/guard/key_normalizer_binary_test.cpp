// Binary-format decoding (PostgreSQL's send formats, built by hand), text and binary giving one
// key, parameters declared with another type, and unquoted SQL numbers.
#include <catch2/catch.hpp>
#include <limits>

#include "guard/key_normalizer.hpp"
#include "guard_test_util.hpp"

using namespace guard_test;

namespace {
constexpr std::uint16_t kPos = 0x0000, kNeg = 0x4000, kNaN = 0xC000, kPinf = 0xD000, kNinf = 0xF000;
}  // namespace

TEST_CASE("BinaryIntsAreBigEndianOfTheirWidth", "[guard]") {
    CHECK(binary("int2", bytes({0x00, 0x02})) == int_key(2));
    CHECK(binary("int2", bytes({0xff, 0xfe})) == int_key(-2));
    CHECK(binary("int4", bytes({0x00, 0x00, 0x01, 0x00})) == int_key(256));
    CHECK(binary("int4", bytes({0x80, 0x00, 0x00, 0x00})) == int_key(-2147483648LL));
    CHECK(binary("int8", be(0x0102030405060708, 8)) == int_key(0x0102030405060708));
    CHECK(binary("int8", be(~0ull, 8)) == int_key(-1));
}

TEST_CASE("BinaryIntOfTheWrongLengthIsInvalid", "[guard]") {
    CHECK(binary("int2", bytes({0x00})) == kInvalid);
    CHECK(binary("int2", bytes({0x00, 0x00, 0x02})) == kInvalid);
    CHECK(binary("int4", bytes({0x00, 0x02})) == kInvalid);
    CHECK(binary("int8", be(2, 4)) == kInvalid);
    CHECK(binary("int4", "") == kInvalid);
}

TEST_CASE("BinaryNumericOnePointFifty", "[guard]") {
    // 1.50: ndigits 2, weight 0, sign +, dscale 2, digits 1, 5000
    const auto v = numeric_binary(0, kPos, 2, {1, 5000});
    CHECK(v == bytes({0, 2, 0, 0, 0, 0, 0, 2, 0, 1, 0x13, 0x88}));
    CHECK(binary("numeric", v) == numeric_key('+', 1, "15"));
    CHECK(binary("numeric", v) == text("numeric", "1.5"));
}

TEST_CASE("BinaryNumericWeightsAndSigns", "[guard]") {
    // 12345.678 = 1 2345 . 6780, weight 1
    CHECK(binary("numeric", numeric_binary(1, kPos, 3, {1, 2345, 6780})) ==
          text("numeric", "12345.678"));
    // -0.001 = 0.0010 in base 10000: one digit 10 at weight -1
    CHECK(binary("numeric", numeric_binary(-1, kNeg, 3, {10})) == numeric_key('-', -2, "1"));
    // 10000 = one digit 1 at weight 1 (trailing zero digits are not sent)
    CHECK(binary("numeric", numeric_binary(1, kPos, 0, {1})) == text("numeric", "10000"));
    // 2e-8 (dscale 8) = 0.0000 0002: weight -2, digit 2; 2e-6 = 0.0000 0200: digit 200
    CHECK(binary("numeric", numeric_binary(-2, kPos, 8, {2})) == text("numeric", "0.00000002"));
    CHECK(binary("numeric", numeric_binary(-2, kPos, 8, {200})) == text("numeric", "0.000002"));
    // leading and trailing zero digits as a client may send them
    CHECK(binary("numeric", numeric_binary(1, kPos, 4, {0, 1, 5000, 0})) == text("numeric", "1.5"));
}

TEST_CASE("BinaryNumericZeroAndSpecials", "[guard]") {
    CHECK(binary("numeric", numeric_binary(0, kPos, 2, {})) == numeric_special('0'));
    CHECK(binary("numeric", numeric_binary(0, kNeg, 0, {0, 0})) == numeric_special('0'));
    CHECK(binary("numeric", numeric_binary(0, kNaN, 0, {})) == numeric_special('N'));
    CHECK(binary("numeric", numeric_binary(0, kPinf, 0, {})) == numeric_special('I'));
    CHECK(binary("numeric", numeric_binary(0, kNinf, 0, {})) == numeric_special('i'));
    CHECK(binary("numeric(5,2)", numeric_binary(0, kPinf, 0, {})) == kInvalid);
}

TEST_CASE("BinaryNumericDigitsBeyondDscaleAreTruncated", "[guard]") {
    // numeric_recv applies trunc_var(dscale), not rounding: 1.2399 sent with dscale 2 is 1.23.
    CHECK(binary("numeric", numeric_binary(0, kPos, 2, {1, 2399})) == text("numeric", "1.23"));
    CHECK(binary("numeric", numeric_binary(0, kPos, 0, {7, 9999})) == text("numeric", "7"));
    // ... and then the column's typmod rounds.
    CHECK(binary("numeric(10,2)", numeric_binary(0, kPos, 3, {1, 50})) ==
          text("numeric(10,2)", "1.005"));
    CHECK(binary("numeric(10,2)", numeric_binary(0, kPos, 3, {1, 50})) ==
          numeric_key('+', 1, "101"));
}

TEST_CASE("BinaryNumericTheServerRefuses", "[guard]") {
    CHECK(binary("numeric", numeric_binary(0, 0x1234, 0, {1})) == kInvalid);    // sign
    CHECK(binary("numeric", numeric_binary(0, kPos, 0, {10000})) == kInvalid);  // digit
    CHECK(binary("numeric", numeric_binary(0, kPos, 0, {-1})) == kInvalid);
    CHECK(binary("numeric", numeric_binary(0, kPos, 0x4000, {1})) == kInvalid);   // dscale
    CHECK(binary("numeric", numeric_binary(0, kPos, 0, {1}) + "x") == kInvalid);  // length
    CHECK(binary("numeric", numeric_binary(0, kPos, 0, {1, 2}).substr(0, 11)) == kInvalid);
    CHECK(binary("numeric", bytes({0, 0, 0, 0, 0, 0})) == kInvalid);
}

TEST_CASE("BinaryUuidIsSixteenBytes", "[guard]") {
    const std::string raw = bytes({0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b,
                                   0xb9, 0xbd, 0x38, 0x0a, 0x11});
    CHECK(binary("uuid", raw) == ok(raw));
    CHECK(binary("uuid", raw) == text("uuid", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"));
    CHECK(binary("uuid", raw.substr(0, 15)) == kInvalid);
    CHECK(binary("uuid", raw + "x") == kInvalid);
}

TEST_CASE("BinaryBoolIsOneByteAnyNonZeroIsTrue", "[guard]") {
    CHECK(binary("bool", bytes({1})) == text("bool", "true"));
    CHECK(binary("bool", bytes({0})) == text("bool", "false"));
    CHECK(binary("bool", bytes({2})) == text("bool", "t"));
    CHECK(binary("bool", "") == kInvalid);
    CHECK(binary("bool", bytes({0, 1})) == kInvalid);
}

TEST_CASE("BinaryDateIsDaysSince2000", "[guard]") {
    CHECK(binary("date", be(8767, 4)) == text("date", "2024-01-02"));
    CHECK(binary("date", be(static_cast<std::uint32_t>(-1), 4)) == text("date", "1999-12-31"));
    CHECK(binary("date", be(0x7fffffff, 4)) == text("date", "infinity"));
    CHECK(binary("date", be(0x80000000, 4)) == text("date", "-infinity"));
    CHECK(binary("date", be(static_cast<std::uint32_t>(-2451546), 4)) ==
          kInvalid);                                       // before 4714 BC
    CHECK(binary("date", be(2145031949, 4)) == kInvalid);  // past 5874897 AD
    CHECK(binary("date", be(8767, 8)) == kInvalid);
}

TEST_CASE("BinaryTimestampIsMicrosecondsSince2000", "[guard]") {
    const std::int64_t t = usecs(2024, 1, 2, 3, 4, 5, 123456);
    CHECK(binary("timestamp", be(static_cast<std::uint64_t>(t), 8)) ==
          text("timestamp", "2024-01-02 03:04:05.123456"));
    CHECK(binary("timestamptz", be(static_cast<std::uint64_t>(t), 8)) ==
          text("timestamptz", "2024-01-02 05:04:05.123456+02"));
    CHECK(binary("timestamp", be(0x7fffffffffffffff, 8)) == text("timestamp", "infinity"));
    CHECK(binary("timestamptz", be(0x8000000000000000, 8)) == text("timestamptz", "-infinity"));
    CHECK(binary("timestamp", be(9223371331200000000ull, 8)) == kInvalid);  // 294277 AD
    CHECK(binary("timestamp", be(static_cast<std::uint64_t>(t), 4)) == kInvalid);
    // The column's precision rounds binary values too.
    CHECK(binary("timestamp(0)", be(static_cast<std::uint64_t>(t + 400000), 8)) ==
          text("timestamp(0)", "2024-01-02 03:04:06"));
}

TEST_CASE("BinaryTextTypesAreRawBytes", "[guard]") {
    CHECK(binary("text", "ab ") == ok("ab "));
    CHECK(binary("bpchar", "ab  ") == ok("ab"));
    CHECK(binary("character(2)", "ab   ") == ok("ab"));
    CHECK(binary("character(2)", "abc") == kInvalid);
    CHECK(binary("varchar(2)", "ab  ") == ok("ab"));
    CHECK(binary("varchar(2)", "abc") == kInvalid);
    CHECK(binary("text", "\xff") == kInvalid);
    CHECK(binary("text", std::string_view("a\0", 2)) == kInvalid);
}

TEST_CASE("TextAndBinaryOfOneValueGiveOneKey", "[guard]") {
    CHECK(text("int2", " -12 ") == binary("int2", be(static_cast<std::uint16_t>(-12), 2)));
    CHECK(text("int8", "+0000042") == binary("int8", be(42, 8)));
    CHECK(text("numeric", "-1234.5600") ==
          binary("numeric", numeric_binary(0, kNeg, 4, {1234, 5600})));
    CHECK(text("numeric", "NaN") == binary("numeric", numeric_binary(0, kNaN, 0, {})));
    CHECK(text("numeric(10,2)", "3.14159") ==
          binary("numeric(10,2)", numeric_binary(0, kPos, 5, {3, 1415, 9000})));
    CHECK(text("bool", " yes ") == binary("bool", bytes({1})));
    CHECK(text("date", "2024-02-29") ==
          binary("date", be(static_cast<std::uint64_t>(days(2024, 2, 29)), 4)));
    CHECK(text("timestamptz", "2000-01-01T00:00:00.000001Z") == binary("timestamptz", be(1, 8)));
    CHECK(text("character(3)", "x ") == binary("character(3)", "x  "));
    CHECK(text("varchar(3)", "xyz   ") == binary("varchar(3)", "xyz"));
}

// ---- parameters declared with another type ---------------------------------------------------

TEST_CASE("NumericParameterIntoAnIntColumnRounds", "[guard]") {
    const auto int4 = type("int4");
    const auto numeric = type("numeric");
    const SessionContext s{};
    CHECK(normalize_text(int4, numeric, "2.5", s) == int_key(3));
    CHECK(normalize_text(int4, numeric, "-2.5", s) == int_key(-3));
    CHECK(normalize_text(int4, numeric, "2.4999", s) == int_key(2));
    CHECK(normalize_text(int4, numeric, "1e3", s) == int_key(1000));
    CHECK(normalize_text(int4, numeric, "2147483647.4", s) == int_key(2147483647));
    CHECK(normalize_text(int4, numeric, "2147483647.5", s) == kInvalid);
    CHECK(normalize_text(int4, numeric, "NaN", s) == kInvalid);
    CHECK(normalize_text(int4, int4, "2.5", s) == kInvalid);
    CHECK(normalize_binary(int4, numeric, util_bytes(numeric_binary(0, kPos, 1, {2, 5000})), s) ==
          int_key(3));
}

TEST_CASE("WiderIntParameterIntoANarrowerColumn", "[guard]") {
    const SessionContext s{};
    CHECK(normalize_text(type("int2"), type("int8"), "40000", s) == kInvalid);
    CHECK(normalize_text(type("int2"), type("int8"), "-300", s) == int_key(-300));
    CHECK(normalize_binary(type("int4"), type("int8"), util_bytes(be(7, 8)), s) == int_key(7));
    CHECK(normalize_binary(type("int4"), type("int8"), util_bytes(be(1ull << 40, 8)), s) ==
          kInvalid);
    CHECK(normalize_text(type("numeric(10,2)"), type("int8"), "12", s) ==
          text("numeric(10,2)", "12.00"));
}

TEST_CASE("CharacterParametersAcrossTextTypes", "[guard]") {
    const SessionContext s{};
    // bpchar → text/varchar is rtrim
    CHECK(normalize_text(type("text"), type("bpchar"), "ab  ", s) == ok("ab"));
    CHECK(normalize_text(type("varchar(3)"), type("bpchar"), "abc   ", s) == ok("abc"));
    CHECK(normalize_text(type("character(2)"), type("text"), "ab ", s) == ok("ab"));
    CHECK(normalize_text(type("varchar(2)"), type("text"), "abc", s) == kInvalid);
}

TEST_CASE("OtherParameterTypesAreLeftToTheServer", "[guard]") {
    const SessionContext s = SessionContext::from_settings("UTC", "ISO, MDY");
    CHECK(normalize_text(type("uuid"), type("text"), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", s) ==
          kUnsure);
    CHECK(normalize_text(type("timestamptz"), type("timestamp"), "2024-01-02", s) == kUnsure);
    CHECK(normalize_text(type("int4"), type("text"), "1", s) == kUnsure);
    CHECK(normalize_text(type("text"), type("int4"), "1", s) == kUnsure);
    // A source with its own modifier is an explicit cast: not modelled.
    CHECK(normalize_text(type("text"), type("varchar(2)"), "abc", s) == kUnsure);
}

// ---- unquoted SQL numbers --------------------------------------------------------------------

TEST_CASE("SqlNumberIntoIntColumns", "[guard]") {
    CHECK(normalize_sql_number(type("int4"), "42") == int_key(42));
    CHECK(normalize_sql_number(type("int4"), "-7") == int_key(-7));
    CHECK(normalize_sql_number(type("int4"), "2.5") == int_key(3));
    CHECK(normalize_sql_number(type("int4"), "-2.5") == int_key(-3));
    CHECK(normalize_sql_number(type("int4"), "1e3") == int_key(1000));
    CHECK(normalize_sql_number(type("int2"), "40000") == kInvalid);
    CHECK(normalize_sql_number(type("int4"), "2147483648") == kInvalid);
    CHECK(normalize_sql_number(type("int8"), "2147483648") == int_key(2147483648LL));
    CHECK(normalize_sql_number(type("int8"), "99999999999999999999") == kInvalid);
}

TEST_CASE("SqlNumberIntoNumericColumns", "[guard]") {
    CHECK(normalize_sql_number(type("numeric"), "1.50") == numeric_key('+', 1, "15"));
    CHECK(normalize_sql_number(type("numeric(10,2)"), "1.005") == numeric_key('+', 1, "101"));
    CHECK(normalize_sql_number(type("numeric"), "99999999999999999999") ==
          numeric_key('+', 20, "99999999999999999999"));
}

TEST_CASE("SqlNumberIntoTextColumnsAsTheOutputFunctionWritesIt", "[guard]") {
    CHECK(normalize_sql_number(type("text"), "007") == ok("7"));
    CHECK(normalize_sql_number(type("text"), "-0") == ok("0"));
    CHECK(normalize_sql_number(type("text"), "1.50") == ok("1.50"));
    CHECK(normalize_sql_number(type("text"), "1e3") == ok("1000"));
    CHECK(normalize_sql_number(type("text"), "1.5e1") == ok("15"));
    CHECK(normalize_sql_number(type("text"), "1.55e-2") == ok("0.0155"));
    CHECK(normalize_sql_number(type("text"), "-0.0") == ok("0.0"));
    CHECK(normalize_sql_number(type("text"), ".5") == ok("0.5"));
    CHECK(normalize_sql_number(type("text"), "-12.340") == ok("-12.340"));
    CHECK(normalize_sql_number(type("varchar(2)"), "123") == kInvalid);
    CHECK(normalize_sql_number(type("character(4)"), "12") == ok("12"));
}

TEST_CASE("SqlNumberIntoOtherColumnsIsLeftToTheServer", "[guard]") {
    CHECK(normalize_sql_number(type("date"), "20240102") == kUnsure);
    CHECK(normalize_sql_number(type("bool"), "1") == kUnsure);
    CHECK(normalize_sql_number(type("uuid"), "1") == kUnsure);
}
