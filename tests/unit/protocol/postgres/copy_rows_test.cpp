#include "protocol/postgres/copy_rows.hpp"

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

using namespace uniqguard::protocol::postgres;
using uniqguard::util::as_bytes;

namespace {
using Fields = std::vector<std::optional<std::string>>;
struct Seen {
    std::uint64_t line;
    Fields fields;
    bool complete;
    std::string raw;
    bool operator==(const Seen&) const = default;
};

// Feeds `data` in pieces of `split` bytes (0: whole), then ends it.
std::vector<Seen> decode(const CopyFormatOptions& o, std::vector<std::size_t> wanted,
                         std::string_view data, std::size_t split = 0) {
    CopyRowDecoder d(o, std::move(wanted));
    std::vector<Seen> out;
    std::string bytes;  // every byte is reported once, in order, row or not
    auto on_row = [&](const CopyRow& r) {
        bytes += r.bytes;
        if (r.is_row) out.push_back({r.line, r.fields, r.complete, std::string(r.raw)});
    };
    if (split == 0) split = data.size() ? data.size() : 1;
    for (std::size_t at = 0; at < data.size(); at += split)
        REQUIRE(d.feed(as_bytes(data.substr(at, split)), on_row));
    REQUIRE(d.finish(on_row));
    CHECK(bytes == data);
    return out;
}

CopyFormatOptions options(std::vector<std::pair<std::string, std::string>> given,
                          std::vector<std::string> columns = {"a", "b", "c"}) {
    std::string error;
    auto o = copy_format_options(given, columns, error);
    REQUIRE(o);
    return *o;
}
}  // namespace

TEST_CASE("text rows: fields, escapes and the NULL marker", "[copy_rows]") {
    const std::string data =
        "1\tx\\ty\t\\N\n"        // an escaped tab is data
        "\\N\t\\\\N\tz\n"        // \\N is the text \N, not NULL
        "\\101\\x42\\n\tb\tc\n"  // octal, hex, newline escapes
        "2\t\\\nq\tc\n";         // a backslash before a newline: the newline is data
    const std::vector<Seen> want = {
        {1, {"1", "x\ty"}, true, "1\tx\\ty\t\\N"},
        {2, {std::nullopt, "\\N"}, true, "\\N\t\\\\N\tz"},
        {3, {"AB\n", "b"}, true, "\\101\\x42\\n\tb\tc"},
        {4, {"2", "\nq"}, true, "2\t\\\nq\tc"},
    };
    for (std::size_t split : {0, 1, 2, 3, 7}) {
        INFO("split " << split);
        CHECK(decode(options({}), {0, 1}, data, split) == want);
    }
}

TEST_CASE("text rows: CRLF, a last line without newline, the end marker", "[copy_rows]") {
    CHECK(decode(options({}), {1}, "1\ta\r\n2\tb") ==
          std::vector<Seen>{{1, {"a"}, true, "1\ta"}, {2, {"b"}, true, "2\tb"}});
    CHECK(decode(options({}), {0}, "7\n\\.\n8\n") == std::vector<Seen>{{1, {"7"}, true, "7"}});
}

TEST_CASE("text rows: delimiter, NULL string and header options", "[copy_rows]") {
    auto o = options({{"delimiter", "|"}, {"null", "NULL"}, {"header", "true"}});
    CHECK(decode(o, {2, 0}, "a|b|c\n1|\\||NULL\n") ==
          std::vector<Seen>{{2, {std::nullopt, "1"}, true, "1|\\||NULL"}});
}

TEST_CASE("text rows: a row with too few fields is reported incomplete", "[copy_rows]") {
    auto rows = decode(options({}), {0, 2}, "1\t2\n");
    REQUIRE(rows.size() == 1);
    CHECK_FALSE(rows[0].complete);
}

TEST_CASE("CSV rows: quotes, doubled quotes, newlines in quotes, NULL", "[copy_rows]") {
    const std::string data =
        "a,b,c\n"
        "1,\"x,\"\"y\"\"\",\n"     // a quoted comma and doubled quotes; an empty unquoted c
        "\"\",\"two\nlines\",z\n"  // a quoted empty string is not NULL
        "3,ab\"c,d\"e,f\r\n";      // quotes in the middle of a field
    auto o = options({{"format", "csv"}, {"header", "true"}});
    const std::vector<Seen> want = {
        {2, {"1", "x,\"y\"", std::nullopt}, true, "1,\"x,\"\"y\"\"\","},
        {4, {"", "two\nlines", "z"}, true, "\"\",\"two\nlines\",z"},  // numbered by its end
        {5, {"3", "abc,de", "f"}, true, "3,ab\"c,d\"e,f"},
    };
    for (std::size_t split : {0, 1, 4}) {
        INFO("split " << split);
        CHECK(decode(o, {0, 1, 2}, data, split) == want);
    }
}

TEST_CASE("CSV rows: ESCAPE, FORCE_NULL and FORCE_NOT_NULL", "[copy_rows]") {
    auto o = options(
        {{"format", "csv"}, {"escape", "\\"}, {"force_null", "b"}, {"force_not_null", "c"}});
    CHECK(decode(o, {0, 1, 2}, "\"a\\\"b\",\"\",\n") ==
          std::vector<Seen>{{1, {"a\"b", std::nullopt, ""}, true, "\"a\\\"b\",\"\","}});
}

TEST_CASE("binary rows: header, fields, NULL and trailer", "[copy_rows]") {
    std::string data("PGCOPY\n\377\r\n\0", 11);
    data += std::string("\0\0\0\0", 4) + std::string("\0\0\0\0", 4);  // flags, no extension
    // (int4 7, text 'ab', NULL)
    data += std::string("\0\3", 2) + std::string("\0\0\0\4\0\0\0\7", 8) +
            std::string("\0\0\0\2ab", 6) + std::string("\377\377\377\377", 4);
    // (int4 -1, text '', NULL)
    data += std::string("\0\3", 2) + std::string("\0\0\0\4\377\377\377\377", 8) +
            std::string("\0\0\0\0", 4) + std::string("\377\377\377\377", 4);
    data += std::string("\377\377", 2);
    const std::vector<Seen> want = {
        {1, {std::string("\0\0\0\7", 4), "ab", std::nullopt}, true, ""},
        {2, {std::string("\377\377\377\377", 4), "", std::nullopt}, true, ""},
    };
    for (std::size_t split : {0, 1, 5}) {
        INFO("split " << split);
        CHECK(decode(options({{"format", "binary"}}), {0, 1, 2}, data, split) == want);
    }
}

TEST_CASE("binary rows: a bad signature is an error", "[copy_rows]") {
    CopyRowDecoder d(options({{"format", "binary"}}), {0});
    CHECK_FALSE(d.feed(as_bytes(std::string_view("PGCOPX\n\377\r\n\0\0\0\0\0\0\0\0\0", 19)),
                       [](const CopyRow&) {}));
    CHECK(d.error() == "the COPY data does not start with the binary signature");
}

TEST_CASE("a row longer than the bound is an error", "[copy_rows]") {
    CopyRowDecoder d(options({}), {0}, 8);
    CHECK_FALSE(d.feed(as_bytes("0123456789"), [](const CopyRow&) {}));
    CHECK(d.error() == "a COPY row longer than 8 bytes");
}

TEST_CASE("copy options the proxy cannot read are refused", "[copy_rows]") {
    std::string error;
    CHECK_FALSE(copy_format_options({{"encoding", "latin1"}}, {"a"}, error));
    CHECK(error == "an ENCODING option");
    CHECK_FALSE(copy_format_options({{"delimiter", "ab"}}, {"a"}, error));
    CHECK(error == "a DELIMITER of more than one byte");
}
