// MySQL/MariaDB string keys from literals (guard/mysql_string_key.hpp), over a made-up NO PAD
// table; tests/integration/test_mysql_collation_keys.py checks them against what the server
// stores.
#include "guard/mysql_string_key.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace uniqguard::guard;

namespace {
CollationWeights nopad_ascii() {
    CollationWeights w(false);
    for (char32_t c = 0x20; c < 0x7F; ++c) w.add(c, std::string(1, static_cast<char>(c)));
    std::string error;
    REQUIRE(w.finish(error));
    return w;
}
}  // namespace

TEST_CASE("A string literal keys as the value the column stores", "[mysql][keys]") {
    const auto weights = nopad_ascii();
    const MySqlStringColumn varchar{&weights, 4, false};
    const MySqlStringColumn fixed{&weights, 4, true};
    CHECK(mysql_string_key(varchar, "ab ", true).bytes == "ab ");  // NO PAD: the space counts
    CHECK(mysql_string_key(fixed, "ab ", true).bytes == "ab");     // CHAR gives it back cut
    CHECK(mysql_string_key(fixed, "    ", true).bytes.empty());
    CHECK(mysql_string_key(varchar, "abcd", true).ok());
    // Left to the server: longer than the column, not UTF-8, a connection in another set.
    CHECK(mysql_string_key(varchar, "abcde", true).status == NormalizeStatus::cannot_normalize);
    CHECK(mysql_string_key(varchar, "\xff", true).status == NormalizeStatus::cannot_normalize);
    CHECK(mysql_string_key(varchar, "ab", false).status == NormalizeStatus::cannot_normalize);
    CHECK(mysql_string_key(MySqlStringColumn{}, "ab", true).status ==
          NormalizeStatus::cannot_normalize);
}
