#include "protocol/postgres/frontend_messages.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace uniqguard;
using namespace uniqguard::protocol::postgres;

namespace {
util::Bytes bytes(const std::string& s) { return util::as_bytes(s); }
// The body of a message built by an append_* function (type byte and length stripped).
std::string body_of(const std::string& message) { return message.substr(5); }
}  // namespace

TEST_CASE("Parse: name, text and parameter types", "[frontend_messages]") {
    const char raw[] = "s1\0INSERT INTO t VALUES ($1, $2)\0\0\x02\0\0\0\x17\0\0\0\0";
    const std::string body(raw, sizeof raw - 1);  // the views point into it
    auto p = decode_parse(bytes(body));
    REQUIRE(p);
    CHECK(p->statement == "s1");
    CHECK(p->sql == "INSERT INTO t VALUES ($1, $2)");
    CHECK(p->parameter_types == std::vector<std::uint32_t>{23, 0});
    CHECK_FALSE(decode_parse(bytes(std::string("s1\0SELECT", 9))));  // no terminator
}

TEST_CASE("Bind: formats, NULL, binary values and result formats", "[frontend_messages]") {
    // portal "", statement "s", formats [0, 1], values ['5', NULL... no: '5', 0x00000007 binary],
    // result formats [1]
    const char raw[] =
        "\0s\0"
        "\0\x02\0\0\0\x01"
        "\0\x03"
        "\0\0\0\x01"
        "5"
        "\xff\xff\xff\xff"
        "\0\0\0\x04\0\0\0\x07"
        "\0\x01\0\x01";
    // three values but two formats: malformed
    CHECK_FALSE(decode_bind(bytes(std::string(raw, sizeof raw - 1))));
    const char ok[] =
        "\0s\0"
        "\0\x01\0\x01"
        "\0\x02"
        "\xff\xff\xff\xff"
        "\0\0\0\x04\0\0\0\x07"
        "\0\x01\0\x01";
    const std::string body(ok, sizeof ok - 1);
    auto b = decode_bind(bytes(body));
    REQUIRE(b);
    CHECK(b->portal == "");
    CHECK(b->statement == "s");
    REQUIRE(b->values.size() == 2);
    CHECK_FALSE(b->values[0].has_value());
    CHECK(*b->values[1] == std::string("\0\0\0\x07", 4));
    CHECK(b->binary(0));
    CHECK(b->binary(1));
    CHECK(b->result_formats == std::vector<std::int16_t>{1});
}

TEST_CASE("Bind decoded into a used message keeps nothing of the last one", "[frontend_messages]") {
    // The guard decodes each Bind of a portal into the portal's own message (re-using memory):
    // a shorter Bind after a longer one must not keep the longer one's values or formats.
    const char first[] =
        "p\0s1\0"
        "\0\x01\0\x01"
        "\0\x02"
        "\0\0\0\x04\0\0\0\x07"
        "\0\0\0\x01x"
        "\0\x01\0\x01";
    const char second[] =
        "\0s2\0"
        "\0\0"
        "\0\x01"
        "\xff\xff\xff\xff"
        "\0\0";
    const std::string first_body(first, sizeof first - 1), second_body(second, sizeof second - 1);
    BindMessage m;
    REQUIRE(decode_bind_into(bytes(first_body), m));
    CHECK(m.portal == "p");
    REQUIRE(m.values.size() == 2);
    CHECK(*m.values[1] == "x");
    REQUIRE(decode_bind_into(bytes(second_body), m));
    CHECK(m.portal == "");
    CHECK(m.statement == "s2");
    CHECK(m.formats.empty());
    REQUIRE(m.values.size() == 1);
    CHECK_FALSE(m.values[0].has_value());
    CHECK_FALSE(m.binary(0));
    CHECK(m.result_formats.empty());
    // Malformed (the value's length runs past the end): false.
    CHECK_FALSE(decode_bind_into(bytes(std::string("\0s\0\0\0\0\x01\0\0\0\x09"
                                                   "ab",
                                                   13)),
                                 m));
}

TEST_CASE("messages the proxy sends decode as the server would read them", "[frontend_messages]") {
    std::string out;
    append_parse(out, "uniqguard_check", "DO $$BEGIN END$$");
    const char expected_parse[] = "P\0\0\0\x27uniqguard_check\0DO $$BEGIN END$$\0\0\0";
    CHECK(out == std::string(expected_parse, sizeof expected_parse - 1));
    const std::string parse_body = body_of(out);
    auto p = decode_parse(bytes(parse_body));
    REQUIRE(p);
    CHECK(p->statement == "uniqguard_check");
    CHECK(p->parameter_types.empty());

    out.clear();
    append_bind(out, "p", "s", {1, 0});
    const std::string bind_body = body_of(out);
    auto b = decode_bind(bytes(bind_body));
    REQUIRE(b);
    CHECK(b->values.empty());
    CHECK(b->result_formats == std::vector<std::int16_t>{1, 0});

    out.clear();
    append_execute(out, "p");
    const char expected_execute[] = "E\0\0\0\x0ap\0\0\0\0\0";
    CHECK(out == std::string(expected_execute, sizeof expected_execute - 1));
    out.clear();
    append_close(out, 'S', "s");
    const char expected_close[] = "C\0\0\0\x07Ss\0";
    CHECK(out == std::string(expected_close, sizeof expected_close - 1));
    const std::string close_body = body_of(out);
    auto c = decode_close(bytes(close_body));
    REQUIRE(c);
    CHECK(c->kind == 'S');
    CHECK(c->name == "s");
}

TEST_CASE("error fields survive a round trip in order", "[frontend_messages]") {
    const char raw[] = "SERROR\0VERROR\0C23505\0Mduplicate\0Wcontext\0\0";
    const std::string body(raw, sizeof raw - 1);
    auto fields = decode_error_fields(bytes(body));
    REQUIRE(fields);
    REQUIRE(fields->size() == 5);
    CHECK((*fields)[2] == std::pair<char, std::string>{'C', "23505"});
    fields->pop_back();
    std::string out;
    append_error_message(out, *fields);
    const char expected[] = "E\0\0\0\x25SERROR\0VERROR\0C23505\0Mduplicate\0\0";
    CHECK(out == std::string(expected, sizeof expected - 1));
    CHECK_FALSE(decode_error_fields(bytes(std::string("SERROR", 6))));
}

TEST_CASE("DataRow values and NULLs", "[frontend_messages]") {
    const char raw[] =
        "\0\x03\0\0\0\x01"
        "1"
        "\xff\xff\xff\xff"
        "\0\0\0\0";
    const std::string body(raw, sizeof raw - 1);
    auto row = decode_data_row(bytes(body));
    REQUIRE(row);
    REQUIRE(row->size() == 3);
    CHECK(*(*row)[0] == "1");
    CHECK_FALSE((*row)[1].has_value());
    CHECK(*(*row)[2] == "");
    CHECK_FALSE(
        decode_data_row(bytes(std::string("\0\x01\0\0\0\x05"
                                          "ab",
                                          8))));
}
