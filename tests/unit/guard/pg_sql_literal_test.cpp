// Literals, identifiers, dollar-quote tags and Bind parameters as SQL text. The expected strings
// were checked against a PostgreSQL 15 server: each binary case's SQL reads back (through the
// type's send function) to the bytes it came from, and quote_identifier matches quote_ident()
// on every keyword.
#include "guard/pg_sql_literal.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

using namespace uniqguard::guard;

namespace {

std::string be(std::uint64_t v, int bytes) {
    std::string s;
    // Wider than 8 bytes: the high bytes are zero (a shift of 64 or more is undefined).
    for (int i = bytes - 1; i >= 0; --i)
        s.push_back(i >= 8 ? '\0' : static_cast<char>(v >> (8 * i)));
    return s;
}

// numeric's send format: ndigits, weight, sign, dscale, then base-10000 digits.
std::string numeric(std::int16_t weight, std::uint16_t sign, std::uint16_t dscale,
                    std::initializer_list<std::int16_t> digits) {
    std::string s = be(digits.size(), 2) + be(static_cast<std::uint16_t>(weight), 2) + be(sign, 2) +
                    be(dscale, 2);
    for (std::int16_t d : digits) s += be(static_cast<std::uint16_t>(d), 2);
    return s;
}
constexpr std::uint16_t kPos = 0x0000, kNeg = 0x4000, kNaN = 0xC000, kPinf = 0xD000, kNinf = 0xF000;

std::optional<std::string> bin(std::uint32_t oid, std::string_view bytes) {
    return parameter_as_sql(oid, true, bytes);
}
std::optional<std::string> txt(std::uint32_t oid, std::string_view text) {
    return parameter_as_sql(oid, false, text);
}

constexpr std::int64_t kUsecsPerDay = 86'400'000'000;

}  // namespace

namespace Catch {
template <>
struct StringMaker<std::optional<std::string>> {
    static std::string convert(const std::optional<std::string>& v) {
        return v ? '"' + *v + '"' : "nullopt";
    }
};
}  // namespace Catch

TEST_CASE("QuoteLiteralDoublesQuotesAndBackslashes", "[pg_sql_literal]") {
    CHECK(quote_literal("abc") == "E'abc'");
    CHECK(quote_literal("") == "E''");
    CHECK(quote_literal("it's") == "E'it''s'");
    CHECK(quote_literal("a\\b") == "E'a\\\\b'");
    CHECK(quote_literal("\\'") == "E'\\\\'''");
    CHECK(quote_literal("''") == "E''''''");
    CHECK(quote_literal("\\x01") == "E'\\\\x01'");
    CHECK(quote_literal("caf\xc3\xa9 \xe2\x82\xac") == "E'caf\xc3\xa9 \xe2\x82\xac'");
    CHECK(quote_literal("line\nbreak\t") == "E'line\nbreak\t'");
    CHECK(quote_literal("$$ $x$") == "E'$$ $x$'");
}

TEST_CASE("QuoteLiteralCopiesANulByteWithoutCrashing", "[pg_sql_literal]") {
    CHECK(quote_literal(std::string_view("a\0b", 3)) == std::string("E'a\0b'", 6));
}

TEST_CASE("QuoteIdentifierLeavesPlainLowerCaseNamesBare", "[pg_sql_literal]") {
    CHECK(quote_identifier("user_id") == "user_id");
    CHECK(quote_identifier("course_id") == "course_id");
    CHECK(quote_identifier("_x1") == "_x1");
    CHECK(quote_identifier("a") == "a");
}

TEST_CASE("QuoteIdentifierQuotesWhatWouldNotReadBack", "[pg_sql_literal]") {
    CHECK(quote_identifier("UserId") == "\"UserId\"");
    CHECK(quote_identifier("ID") == "\"ID\"");
    CHECK(quote_identifier("1col") == "\"1col\"");
    CHECK(quote_identifier("first name") == "\"first name\"");
    CHECK(quote_identifier("a-b") == "\"a-b\"");
    CHECK(quote_identifier("say \"hi\"") == "\"say \"\"hi\"\"\"");
    CHECK(quote_identifier("\"") == "\"\"\"\"");
    CHECK(quote_identifier("caf\xc3\xa9") == "\"caf\xc3\xa9\"");
    CHECK(quote_identifier("$x") == "\"$x\"");
    CHECK(quote_identifier("x$") == "\"x$\"");
    CHECK(quote_identifier("") == "\"\"");
}

TEST_CASE("QuoteIdentifierQuotesAllButUnreservedKeywords", "[pg_sql_literal]") {
    // RESERVED
    CHECK(quote_identifier("user") == "\"user\"");
    CHECK(quote_identifier("select") == "\"select\"");
    CHECK(quote_identifier("order") == "\"order\"");
    CHECK(quote_identifier("table") == "\"table\"");
    CHECK(quote_identifier("all") == "\"all\"");
    CHECK(quote_identifier("xmltable") == "\"xmltable\"");  // the list's last entry
    // COL_NAME
    CHECK(quote_identifier("int") == "\"int\"");
    CHECK(quote_identifier("integer") == "\"integer\"");
    CHECK(quote_identifier("values") == "\"values\"");
    CHECK(quote_identifier("timestamp") == "\"timestamp\"");
    CHECK(quote_identifier("char") == "\"char\"");
    CHECK(quote_identifier("normalize") == "\"normalize\"");
    // TYPE_FUNC_NAME
    CHECK(quote_identifier("left") == "\"left\"");
    CHECK(quote_identifier("authorization") == "\"authorization\"");
    CHECK(quote_identifier("collation") == "\"collation\"");
    // UNRESERVED
    CHECK(quote_identifier("name") == "name");
    CHECK(quote_identifier("value") == "value");
    CHECK(quote_identifier("data") == "data");
    CHECK(quote_identifier("key") == "key");
    CHECK(quote_identifier("abort") == "abort");
    CHECK(quote_identifier("zone") == "zone");
    // Near a keyword is not a keyword.
    CHECK(quote_identifier("users") == "users");
    CHECK(quote_identifier("orders") == "orders");
    CHECK(quote_identifier("int4") == "int4");
}

TEST_CASE("DollarQuoteTagAvoidsTheBody", "[pg_sql_literal]") {
    CHECK(dollar_quote_tag("") == "$uniqguard$");
    CHECK(dollar_quote_tag("BEGIN PERFORM 1; END") == "$uniqguard$");
    CHECK(dollar_quote_tag("x $uniqguard$ y") == "$uniqguard_1$");
    CHECK(dollar_quote_tag("$uniqguard$ $uniqguard_1$") == "$uniqguard_2$");
    CHECK(dollar_quote_tag("$uniqguard_1$ $uniqguard$ $uniqguard_2$") == "$uniqguard_3$");
    // Only the bare tag is taken: _1 is free.
    CHECK(dollar_quote_tag("$uniqguard_2$ $uniqguard$") == "$uniqguard_1$");
    CHECK(dollar_quote_tag("$uniqguard_1$") == "$uniqguard$");
    // Tags are case-sensitive, and others do not matter.
    CHECK(dollar_quote_tag("$UNIQGUARD$ $$ $uniq$ $uniqguardx$") == "$uniqguard$");
    // A leading zero is another tag than ours.
    CHECK(dollar_quote_tag("$uniqguard$ $uniqguard_01$") == "$uniqguard_1$");
}

TEST_CASE("DollarQuoteTagAvoidsABodyEndRunningIntoTheClosingTag", "[pg_sql_literal]") {
    // "...$uniqguard" + "$uniqguard$" would close at the body's end.
    CHECK(dollar_quote_tag("x $uniqguard") == "$uniqguard_1$");
    CHECK(dollar_quote_tag("$uniqguard$ x $uniqguard_1") == "$uniqguard_2$");
    // Prefixes that do not complete a tag are harmless.
    CHECK(dollar_quote_tag("x $uniqguar") == "$uniqguard$");
    CHECK(dollar_quote_tag("x $uniqguard_") == "$uniqguard$");
    CHECK(dollar_quote_tag("x $") == "$uniqguard$");
}

TEST_CASE("DollarQuoteTagIsLinearOnHostileBodies", "[pg_sql_literal]") {
    std::string body;
    for (int i = 0; i < 20000; ++i) {
        body += i == 0 ? "$uniqguard$" : "$uniqguard_" + std::to_string(i) + "$";
    }
    CHECK(dollar_quote_tag(body) == "$uniqguard_20000$");
    body += "$uniqguard_20000";
    CHECK(dollar_quote_tag(body) == "$uniqguard_20001$");
}

TEST_CASE("BuiltinTypeNames", "[pg_sql_literal]") {
    CHECK(builtin_type_name(16) == "bool");
    CHECK(builtin_type_name(17) == "bytea");
    CHECK(builtin_type_name(18) == "\"char\"");
    CHECK(builtin_type_name(19) == "name");
    CHECK(builtin_type_name(20) == "int8");
    CHECK(builtin_type_name(21) == "int2");
    CHECK(builtin_type_name(23) == "int4");
    CHECK(builtin_type_name(25) == "text");
    CHECK(builtin_type_name(26) == "oid");
    CHECK(builtin_type_name(114) == "json");
    CHECK(builtin_type_name(700) == "float4");
    CHECK(builtin_type_name(701) == "float8");
    CHECK(builtin_type_name(705) == "unknown");
    CHECK(builtin_type_name(1042) == "bpchar");
    CHECK(builtin_type_name(1043) == "varchar");
    CHECK(builtin_type_name(1082) == "date");
    CHECK(builtin_type_name(1083) == "time");
    CHECK(builtin_type_name(1114) == "timestamp");
    CHECK(builtin_type_name(1184) == "timestamptz");
    CHECK(builtin_type_name(1186) == "interval");
    CHECK(builtin_type_name(1700) == "numeric");
    CHECK(builtin_type_name(2950) == "uuid");
    CHECK(builtin_type_name(3802) == "jsonb");
    CHECK(builtin_type_name(0) == std::nullopt);
    CHECK(builtin_type_name(22) == std::nullopt);
    CHECK(builtin_type_name(1007) == std::nullopt);  // int4[]
    CHECK(builtin_type_name(16384) == std::nullopt);
}

TEST_CASE("NullParameters", "[pg_sql_literal]") {
    CHECK(parameter_as_sql(0, false, std::nullopt) == "NULL");
    CHECK(parameter_as_sql(705, false, std::nullopt) == "NULL");
    CHECK(parameter_as_sql(23, false, std::nullopt) == "NULL::int4");
    CHECK(parameter_as_sql(23, true, std::nullopt) == "NULL::int4");
    CHECK(parameter_as_sql(18, true, std::nullopt) == "NULL::\"char\"");
    CHECK(parameter_as_sql(1184, false, std::nullopt) == "NULL::timestamptz");
    // NULL is NULL whatever the type: no name needed.
    CHECK(parameter_as_sql(16384, true, std::nullopt) == "NULL");
}

TEST_CASE("TextParameters", "[pg_sql_literal]") {
    CHECK(txt(0, "42") == "E'42'");
    CHECK(txt(705, "it's") == "E'it''s'");
    CHECK(txt(23, "42") == "E'42'::int4");
    CHECK(txt(25, "a\\b'c") == "E'a\\\\b''c'::text");
    CHECK(txt(17, "\\x0aff") == "E'\\\\x0aff'::bytea");
    CHECK(txt(1184, "2024-01-02 03:04:05 Europe/Paris") ==
          "E'2024-01-02 03:04:05 Europe/Paris'::timestamptz");
    CHECK(txt(18, "x") == "E'x'::\"char\"");
    CHECK(txt(1186, "1 day") == "E'1 day'::interval");
    CHECK(txt(3802, "{\"a\": 1}") == "E'{\"a\": 1}'::jsonb");
    CHECK(txt(1042, "ab  ") == "E'ab  '::bpchar");
    CHECK(txt(25, "") == "E''::text");
    CHECK(txt(0, "") == "E''");
}

TEST_CASE("TextParametersRefusedWhenUnnamedOrHoldingNul", "[pg_sql_literal]") {
    CHECK(txt(16384, "x") == std::nullopt);
    CHECK(txt(1007, "{1,2}") == std::nullopt);
    CHECK(txt(23, std::string_view("4\0002", 3)) == std::nullopt);
    CHECK(txt(0, std::string_view("\0", 1)) == std::nullopt);
}

TEST_CASE("BinaryIntegers", "[pg_sql_literal]") {
    CHECK(bin(21, be(2, 2)) == "E'2'::int2");
    CHECK(bin(21, be(0xfffe, 2)) == "E'-2'::int2");
    CHECK(bin(21, be(0x8000, 2)) == "E'-32768'::int2");
    CHECK(bin(21, be(0x7fff, 2)) == "E'32767'::int2");
    CHECK(bin(23, be(42, 4)) == "E'42'::int4");
    CHECK(bin(23, be(0, 4)) == "E'0'::int4");
    CHECK(bin(23, be(0xffffffff, 4)) == "E'-1'::int4");
    CHECK(bin(23, be(0x80000000, 4)) == "E'-2147483648'::int4");
    CHECK(bin(20, be(0x0102030405060708, 8)) == "E'72623859790382856'::int8");
    CHECK(bin(20, be(0x8000000000000000, 8)) == "E'-9223372036854775808'::int8");
    CHECK(bin(20, be(0x7fffffffffffffff, 8)) == "E'9223372036854775807'::int8");
    CHECK(bin(20, be(static_cast<std::uint64_t>(-7), 8)) == "E'-7'::int8");
    CHECK(bin(26, be(0xffffffff, 4)) == "E'4294967295'::oid");
    CHECK(bin(26, be(16384, 4)) == "E'16384'::oid");
}

TEST_CASE("BinaryIntegersOfTheWrongLength", "[pg_sql_literal]") {
    CHECK(bin(21, be(2, 1)) == std::nullopt);
    CHECK(bin(21, be(2, 4)) == std::nullopt);
    CHECK(bin(23, be(2, 2)) == std::nullopt);
    CHECK(bin(23, be(2, 8)) == std::nullopt);
    CHECK(bin(23, "") == std::nullopt);
    CHECK(bin(20, be(2, 4)) == std::nullopt);
    CHECK(bin(26, be(2, 8)) == std::nullopt);
}

TEST_CASE("BinaryBool", "[pg_sql_literal]") {
    CHECK(bin(16, be(1, 1)) == "E'true'::bool");
    CHECK(bin(16, be(0, 1)) == "E'false'::bool");
    CHECK(bin(16, be(2, 1)) == "E'true'::bool");  // boolrecv: any nonzero byte
    CHECK(bin(16, "") == std::nullopt);
    CHECK(bin(16, be(1, 2)) == std::nullopt);
}

TEST_CASE("BinaryFloats", "[pg_sql_literal]") {
    CHECK(bin(701, be(0x3ff8000000000000, 8)) == "E'1.5'::float8");
    CHECK(bin(701, be(0x3fb999999999999a, 8)) == "E'0.1'::float8");
    CHECK(bin(701, be(0xc00921fb54442d18, 8)) == "E'-3.141592653589793'::float8");
    CHECK(bin(701, be(0x4341c37937e08000, 8)) == "E'1e+16'::float8");
    CHECK(bin(701, be(0x0000000000000000, 8)) == "E'0'::float8");
    CHECK(bin(701, be(0x8000000000000000, 8)) == "E'-0'::float8");
    CHECK(bin(701, be(0x0000000000000001, 8)) == "E'5e-324'::float8");  // smallest subnormal
    CHECK(bin(701, be(0x7fefffffffffffff, 8)) == "E'1.7976931348623157e+308'::float8");
    CHECK(bin(701, be(0x7ff8000000000000, 8)) == "E'NaN'::float8");
    CHECK(bin(701, be(0xfff8000000000001, 8)) == "E'NaN'::float8");
    CHECK(bin(701, be(0x7ff0000000000000, 8)) == "E'Infinity'::float8");
    CHECK(bin(701, be(0xfff0000000000000, 8)) == "E'-Infinity'::float8");
    CHECK(bin(700, be(0x3dcccccd, 4)) == "E'0.1'::float4");
    CHECK(bin(700, be(0xc0490fdb, 4)) == "E'-3.1415927'::float4");
    CHECK(bin(700, be(0x00000001, 4)) == "E'1e-45'::float4");
    CHECK(bin(700, be(0x7f7fffff, 4)) == "E'3.4028235e+38'::float4");
    CHECK(bin(700, be(0x7fc00000, 4)) == "E'NaN'::float4");
    CHECK(bin(700, be(0x7f800000, 4)) == "E'Infinity'::float4");
    CHECK(bin(700, be(0xff800000, 4)) == "E'-Infinity'::float4");
    CHECK(bin(700, be(0, 8)) == std::nullopt);
    CHECK(bin(701, be(0, 4)) == std::nullopt);
}

TEST_CASE("BinaryNumericFinite", "[pg_sql_literal]") {
    CHECK(bin(1700, numeric(0, kPos, 0, {})) == "E'0'::numeric");
    CHECK(bin(1700, numeric(0, kPos, 2, {})) == "E'0.00'::numeric");
    CHECK(bin(1700, numeric(0, kPos, 0, {42})) == "E'42'::numeric");
    CHECK(bin(1700, numeric(0, kNeg, 2, {1, 5000})) == "E'-1.50'::numeric");
    CHECK(bin(1700, numeric(0, kPos, 2, {1, 5000})) == "E'1.50'::numeric");
    CHECK(bin(1700, numeric(1, kPos, 4, {1, 2345, 6789})) == "E'12345.6789'::numeric");
    CHECK(bin(1700, numeric(1, kNeg, 4, {1, 2345, 6789})) == "E'-12345.6789'::numeric");
    CHECK(bin(1700, numeric(2, kPos, 0, {1})) == "E'100000000'::numeric");
    CHECK(bin(1700, numeric(1, kPos, 1, {1, 0, 1000})) == "E'10000.1'::numeric");
    // 1e-7 = 10 × 10000^-2; 1.5e-9 = 1500 × 10000^-3; 1.5e-8 = 1 × 10000^-2 + 5000 × 10000^-3.
    CHECK(bin(1700, numeric(-2, kPos, 7, {10})) == "E'0.0000001'::numeric");
    CHECK(bin(1700, numeric(-2, kNeg, 7, {10})) == "E'-0.0000001'::numeric");
    CHECK(bin(1700, numeric(-3, kPos, 10, {1500})) == "E'0.0000000015'::numeric");
    CHECK(bin(1700, numeric(-2, kPos, 9, {1, 5000})) == "E'0.000000015'::numeric");
    CHECK(bin(1700, numeric(-1, kPos, 5, {1234, 5000})) == "E'0.12345'::numeric");
    // A display scale beyond the digits pads with zeros.
    CHECK(bin(1700, numeric(0, kPos, 6, {3, 1400})) == "E'3.140000'::numeric");
}

TEST_CASE("BinaryNumericTruncatedToItsDisplayScale", "[pg_sql_literal]") {
    // numeric_recv truncates the digits dscale hides (no rounding); a zero loses its sign.
    CHECK(bin(1700, numeric(0, kPos, 1, {1, 5999})) == "E'1.5'::numeric");
    CHECK(bin(1700, numeric(0, kPos, 0, {2, 9999})) == "E'2'::numeric");
    CHECK(bin(1700, numeric(-1, kNeg, 2, {1})) == "E'0.00'::numeric");
}

TEST_CASE("BinaryNumericSpecials", "[pg_sql_literal]") {
    CHECK(bin(1700, numeric(0, kNaN, 0, {})) == "E'NaN'::numeric");
    CHECK(bin(1700, numeric(0, kPinf, 0, {})) == "E'Infinity'::numeric");
    CHECK(bin(1700, numeric(0, kNinf, 0, {})) == "E'-Infinity'::numeric");
}

TEST_CASE("BinaryNumericMalformed", "[pg_sql_literal]") {
    CHECK(bin(1700, "") == std::nullopt);
    CHECK(bin(1700, be(0, 6)) == std::nullopt);                               // short header
    CHECK(bin(1700, numeric(0, kPos, 0, {1}).substr(0, 9)) == std::nullopt);  // cut digit
    CHECK(bin(1700, numeric(0, kPos, 0, {1}) + be(0, 2)) == std::nullopt);    // extra bytes
    CHECK(bin(1700, numeric(0, kPos, 0, {10000})) == std::nullopt);           // digit too big
    CHECK(bin(1700, numeric(0, kPos, 0, {-1})) == std::nullopt);              // negative digit
    CHECK(bin(1700, numeric(0, 0x8000, 0, {1})) == std::nullopt);             // bad sign
    CHECK(bin(1700, numeric(0, kPos, 0x4000, {1})) == std::nullopt);          // bad dscale
}

TEST_CASE("BinaryTextTypesAreTheirBytes", "[pg_sql_literal]") {
    CHECK(bin(25, "hello") == "E'hello'::text");
    CHECK(bin(25, "it's a\\b") == "E'it''s a\\\\b'::text");
    CHECK(bin(25, "") == "E''::text");
    CHECK(bin(1043, "caf\xc3\xa9") == "E'caf\xc3\xa9'::varchar");
    CHECK(bin(1042, "ab  ") == "E'ab  '::bpchar");
    CHECK(bin(19, "relname") == "E'relname'::name");
    CHECK(bin(19, std::string(63, 'n')) == "E'" + std::string(63, 'n') + "'::name");
    // namerecv refuses what namein would truncate; no type holds a NUL.
    CHECK(bin(19, std::string(64, 'n')) == std::nullopt);
    CHECK(bin(25, std::string_view("a\0b", 3)) == std::nullopt);
    CHECK(bin(1043, std::string_view("\0", 1)) == std::nullopt);
}

TEST_CASE("BinaryParametersOfUnspecifiedOrUnhandledType", "[pg_sql_literal]") {
    // The server reads these with the receive function of the type it infers.
    CHECK(bin(0, "abc") == std::nullopt);
    CHECK(bin(705, "abc") == std::nullopt);
    // Named, but no decoder here.
    CHECK(bin(18, "x") == std::nullopt);
    CHECK(bin(114, "{}") == std::nullopt);
    CHECK(bin(3802, "\x01{}") == std::nullopt);
    CHECK(bin(1083, be(0, 8)) == std::nullopt);
    CHECK(bin(1186, be(0, 16)) == std::nullopt);
    CHECK(bin(16384, be(0, 4)) == std::nullopt);
}

TEST_CASE("BinaryBytea", "[pg_sql_literal]") {
    CHECK(bin(17, "\x01\x02") == "E'\\\\x0102'::bytea");
    CHECK(bin(17, std::string_view("\0\xff\x0a", 3)) == "E'\\\\x00ff0a'::bytea");
    CHECK(bin(17, "") == "E'\\\\x'::bytea");
}

TEST_CASE("BinaryUuid", "[pg_sql_literal]") {
    const std::string u = "\xa0\xee\xbc\x99\x9c\x0b\x4e\xf8\xbb\x6d\x6b\xb9\xbd\x38\x0a\x11";
    CHECK(bin(2950, u) == "E'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid");
    CHECK(bin(2950, std::string(16, '\0')) == "E'00000000-0000-0000-0000-000000000000'::uuid");
    CHECK(bin(2950, u.substr(0, 15)) == std::nullopt);
    CHECK(bin(2950, u + "x") == std::nullopt);
}

TEST_CASE("BinaryDate", "[pg_sql_literal]") {
    const auto date = [](std::int32_t days) {
        return bin(1082, be(static_cast<std::uint32_t>(days), 4));
    };
    CHECK(date(0) == "E'2000-01-01'::date");
    CHECK(date(1) == "E'2000-01-02'::date");
    CHECK(date(-1) == "E'1999-12-31'::date");
    CHECK(date(59) == "E'2000-02-29'::date");
    CHECK(date(-10957) == "E'1970-01-01'::date");
    CHECK(date(9132) == "E'2025-01-01'::date");
    CHECK(date(-730119) == "E'0001-01-01'::date");
    CHECK(date(-730120) == "E'0001-12-31 BC'::date");  // year 0
    CHECK(date(-730485) == "E'0001-01-01 BC'::date");
    CHECK(date(-730486) == "E'0002-12-31 BC'::date");
    CHECK(date(-2451545) == "E'4714-11-24 BC'::date");    // the first valid date
    CHECK(date(2145031948) == "E'5874897-12-31'::date");  // the last
    CHECK(date(2914635) == "E'9980-01-01'::date");
    CHECK(date(2921939) == "E'9999-12-31'::date");
    CHECK(date(2921940) == "E'10000-01-01'::date");
    CHECK(date(std::numeric_limits<std::int32_t>::min()) == "E'-infinity'::date");
    CHECK(date(std::numeric_limits<std::int32_t>::max()) == "E'infinity'::date");
    CHECK(date(-2451546) == std::nullopt);  // out of range
    CHECK(date(2145031949) == std::nullopt);
    CHECK(bin(1082, be(0, 8)) == std::nullopt);
    CHECK(bin(1082, be(0, 2)) == std::nullopt);
}

TEST_CASE("BinaryTimestamp", "[pg_sql_literal]") {
    const auto ts = [](std::int64_t usecs) {
        return bin(1114, be(static_cast<std::uint64_t>(usecs), 8));
    };
    CHECK(ts(0) == "E'2000-01-01 00:00:00'::timestamp");
    CHECK(ts(1) == "E'2000-01-01 00:00:00.000001'::timestamp");
    CHECK(ts(-1) == "E'1999-12-31 23:59:59.999999'::timestamp");
    CHECK(ts(1'500'000) == "E'2000-01-01 00:00:01.5'::timestamp");
    CHECK(ts(45296'120000) == "E'2000-01-01 12:34:56.12'::timestamp");
    CHECK(ts(-946684800'000000) == "E'1970-01-01 00:00:00'::timestamp");
    CHECK(ts(-946684800'000000 - 1'000'000) == "E'1969-12-31 23:59:59'::timestamp");
    CHECK(ts(789004800'000000 + 3723'000000) == "E'2025-01-01 01:02:03'::timestamp");
    CHECK(ts(-730120 * kUsecsPerDay + 43200'000000) == "E'0001-12-31 12:00:00 BC'::timestamp");
    CHECK(ts(-211813488000000000) == "E'4714-11-24 00:00:00 BC'::timestamp");
    CHECK(ts(9223371331200000000 - 1) == "E'294276-12-31 23:59:59.999999'::timestamp");
    CHECK(ts(std::numeric_limits<std::int64_t>::min()) == "E'-infinity'::timestamp");
    CHECK(ts(std::numeric_limits<std::int64_t>::max()) == "E'infinity'::timestamp");
    CHECK(ts(-211813488000000000 - 1) == std::nullopt);
    CHECK(ts(9223371331200000000) == std::nullopt);
    CHECK(bin(1114, be(0, 4)) == std::nullopt);
}

TEST_CASE("BinaryTimestamptzIsWrittenInUtc", "[pg_sql_literal]") {
    const auto tstz = [](std::int64_t usecs) {
        return bin(1184, be(static_cast<std::uint64_t>(usecs), 8));
    };
    CHECK(tstz(0) == "E'2000-01-01 00:00:00+00'::timestamptz");
    CHECK(tstz(-1) == "E'1999-12-31 23:59:59.999999+00'::timestamptz");
    CHECK(tstz(-946684800'000000) == "E'1970-01-01 00:00:00+00'::timestamptz");
    CHECK(tstz(789004800'000000 + 250'000) == "E'2025-01-01 00:00:00.25+00'::timestamptz");
    CHECK(tstz(-730120 * kUsecsPerDay) == "E'0001-12-31 00:00:00+00 BC'::timestamptz");
    CHECK(tstz(-211813488000000000) == "E'4714-11-24 00:00:00+00 BC'::timestamptz");
    CHECK(tstz(9223371331200000000 - 1) == "E'294276-12-31 23:59:59.999999+00'::timestamptz");
    CHECK(tstz(std::numeric_limits<std::int64_t>::min()) == "E'-infinity'::timestamptz");
    CHECK(tstz(std::numeric_limits<std::int64_t>::max()) == "E'infinity'::timestamptz");
    CHECK(tstz(9223371331200000000) == std::nullopt);
    CHECK(bin(1184, be(0, 7)) == std::nullopt);
}
