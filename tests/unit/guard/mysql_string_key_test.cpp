// MySQL/MariaDB string keys from literals (guard/mysql_string_key.hpp), over a made-up NO PAD
// table; tests/integration/test_mysql_collation_keys.py checks them against what the server
// stores.
#include "guard/mysql_string_key.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace uniqguard::guard;

namespace {
CollationWeights nopad_table() {
    CollationWeights w(false);
    for (char32_t c = 0x20; c < 0x7F; ++c) w.add(c, std::string(1, static_cast<char>(c)));
    w.add(0x1F600, "\x7f");  // an emoji
    std::string error;
    REQUIRE(w.finish(error));
    return w;
}
constexpr auto mb4 = ClientCharset::utf8mb4;
constexpr auto cannot = NormalizeStatus::cannot_normalize;
}  // namespace

TEST_CASE("A string literal keys as the value the column stores", "[mysql][keys]") {
    const auto weights = nopad_table();
    const MySqlStringColumn varchar{&weights, 4, 0, false};
    const MySqlStringColumn fixed{&weights, 4, 0, true};
    CHECK(mysql_string_key(varchar, "ab ", mb4).bytes == "ab ");  // NO PAD: the space counts
    CHECK(mysql_string_key(fixed, "ab ", mb4).bytes == "ab");     // CHAR gives it back cut
    CHECK(mysql_string_key(fixed, "    ", mb4).bytes.empty());
    CHECK(mysql_string_key(varchar, "abcd", mb4).ok());
    CHECK(mysql_string_key(varchar, "\xf0\x9f\x98\x80", mb4).bytes == "\x7f");
    // Left to the server: longer than the column, not UTF-8, a connection in another set.
    CHECK(mysql_string_key(varchar, "abcde", mb4).status == cannot);
    CHECK(mysql_string_key(varchar, "\xff", mb4).status == cannot);
    CHECK(mysql_string_key(varchar, "ab", ClientCharset::other).status == cannot);
    CHECK(mysql_string_key(MySqlStringColumn{}, "ab", mb4).status == cannot);
}

TEST_CASE("A utf8mb3 client has no 4-byte characters", "[mysql][keys]") {
    const auto weights = nopad_table();
    const MySqlStringColumn varchar{&weights, 4, 0, false};
    CHECK(mysql_string_key(varchar, "ab", ClientCharset::utf8mb3).bytes == "ab");
    CHECK(mysql_string_key(varchar, "a\xf0\x9f\x98\x80", ClientCharset::utf8mb3).status == cannot);
}

TEST_CASE("TEXT columns: the byte limit, in UTF-8 bytes", "[mysql][keys]") {
    const auto weights = nopad_table();
    const MySqlStringColumn tinytext{&weights, 255, 8, false};
    CHECK(mysql_string_key(tinytext, "\xf0\x9f\x98\x80\xf0\x9f\x98\x80", mb4).ok());  // 8 bytes
    CHECK(mysql_string_key(tinytext,
                           "\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
                           "a",
                           mb4)
              .status == cannot);  // 3 characters, 9 bytes
}
