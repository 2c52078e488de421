#include "pgclient/messages.hpp"

#include <catch2/catch.hpp>

using namespace uniqguard::pgclient;
using uniqguard::util::as_bytes;

namespace {
Row row(std::initializer_list<std::optional<std::string>> fields) { return Row(fields); }
}  // namespace

TEST_CASE("StartupMessageCarriesProtocolAndParameters", "[pgclient]") {
    std::string out;
    append_startup_message(out, {{"user", "u"}, {"database", "app"}});
    const std::string expected("\0\0\0\x1d\0\x03\0\0user\0u\0database\0app\0\0", 29);
    CHECK(out == expected);
}

TEST_CASE("ExtendedQueryMessagesAreEncodedAsThePgDocsSay", "[pgclient]") {
    std::string out;
    append_parse(out, "SELECT $1");
    CHECK(out == std::string("P\0\0\0\x11\0SELECT $1\0\0\0", 18));
    out.clear();
    append_bind(out, {std::string("42"), std::nullopt});
    CHECK(out == std::string("B\0\0\0\x16\0\0\0\0\0\x02\0\0\0\x02"
                             "42\xff\xff\xff\xff\0\0",
                             23));
    out.clear();
    append_describe_portal(out);
    append_execute(out);
    append_sync(out);
    CHECK(out == std::string("D\0\0\0\x06P\0E\0\0\0\x09\0\0\0\0\0S\0\0\0\x04", 22));
}

TEST_CASE("SaslMessagesCarryMechanismAndLength", "[pgclient]") {
    std::string out;
    append_sasl_initial_response(out, "SCRAM-SHA-256", "n,,n=,r=abc");
    CHECK(out == std::string("p\0\0\0\x21SCRAM-SHA-256\0\0\0\0\x0bn,,n=,r=abc", 34));
    out.clear();
    append_sasl_response(out, "c=biws");
    CHECK(out == std::string("p\0\0\0\x0a"
                             "c=biws",
                             11));
}

TEST_CASE("Md5PasswordResponseMatchesLibpq", "[pgclient]") {
    const std::string salt("\x01\x02\x03\x04", 4);
    CHECK(md5_password_response("md5user", "md5-secret", as_bytes(salt)) ==
          "md5683becbfbf4cc297e2fcbcf72c90c0ff");
}

TEST_CASE("ErrorResponseFieldsAreDecoded", "[pgclient]") {
    const char raw[] =
        "SFEHLER\0VERROR\0C42P01\0Mrelation \"x\" does not exist\0Dmore\0Hhint\0P15\0\0";
    const std::string body(raw, sizeof raw - 1);  // embedded NULs: length from the array
    const auto e = decode_error_response(as_bytes(body));
    REQUIRE(e);
    CHECK(e->severity == "ERROR");  // V wins over the localized S
    CHECK(e->sqlstate == "42P01");
    CHECK(e->message == "relation \"x\" does not exist");
    CHECK(e->detail == "more");
    CHECK(e->hint == "hint");
    CHECK_FALSE(decode_error_response(as_bytes(std::string("Cabc", 4))));
}

TEST_CASE("DataRowWithNullsIsDecodedIntoAReusedRow", "[pgclient]") {
    const std::string body("\0\x03\0\0\0\x02hi\xff\xff\xff\xff\0\0\0\0", 16);
    Row r{std::string("old"), std::string("old"), std::nullopt, std::string("extra")};
    REQUIRE(decode_data_row(as_bytes(body), r));
    CHECK(r == row({"hi", std::nullopt, ""}));
    CHECK_FALSE(decode_data_row(as_bytes(std::string("\0\x01\0\0\0\x05hi", 8)), r));
}

TEST_CASE("RowDescriptionAndCommandCompleteAreDecoded", "[pgclient]") {
    std::string body("\0\x02", 2);
    body += std::string("a\0", 2) + std::string(18, '\0');
    body += std::string("bc\0", 3) + std::string(18, '\0');
    const auto names = decode_row_description(as_bytes(body));
    REQUIRE(names);
    CHECK(*names == std::vector<std::string>{"a", "bc"});
    CHECK_FALSE(decode_row_description(as_bytes(body.substr(0, body.size() - 1))));
    CHECK(decode_command_complete(as_bytes(std::string("SELECT 3\0", 9))) ==
          std::optional<std::string>("SELECT 3"));
}

TEST_CASE("CopyOutResponseIsDecoded", "[pgclient]") {
    const auto text = decode_copy_out_response(as_bytes(std::string("\0\0\x02\0\0\0\0", 7)));
    REQUIRE(text);
    CHECK_FALSE(text->binary);
    CHECK(text->columns == 2);
    CHECK_FALSE(decode_copy_out_response(as_bytes(std::string("\0\0\x02\0\0", 5))));
}

TEST_CASE("CopyTextRowsAreUnescaped", "[pgclient]") {
    Row r;
    REQUIRE(decode_copy_text_row("1\tabc\t\\N", r));
    CHECK(r == row({"1", "abc", std::nullopt}));
    REQUIRE(decode_copy_text_row("a\\tb\\nc\\\\d\\r\\b\\f\\v", r));
    CHECK(r == row({"a\tb\nc\\d\r\b\f\v"}));
    REQUIRE(decode_copy_text_row("\\101\\x42\\x4a5\\q\\x", r));  // octal, hex, other
    CHECK(r == row({"ABJ5qx"}));
    REQUIRE(decode_copy_text_row("\t", r));
    CHECK(r == row({"", ""}));
    REQUIRE(decode_copy_text_row("", r));
    CHECK(r == row({""}));
    REQUIRE(decode_copy_text_row("\\\\N", r));  // an escaped backslash and N, not NULL
    CHECK(r == row({"\\N"}));
    CHECK_FALSE(decode_copy_text_row("abc\\", r));
}
