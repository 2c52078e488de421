// A MySQL/MariaDB key set built from stored rows (guard/mysql_key_set_builder.hpp,
// mysql_key_columns.hpp): the same fingerprints as the literals of an INSERT, NULL handling, and
// a value that cannot be keyed failing the load without showing the value.
#include "guard/mysql_key_set_builder.hpp"

#include <catch2/catch.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "guard/key_fingerprint.hpp"

using namespace uniqguard::guard;

namespace {
std::shared_ptr<const CollationWeights> upper_ascii() {
    auto w = std::make_shared<CollationWeights>(true);  // PAD SPACE, case-insensitive
    for (char32_t c = 0x20; c < 0x7F; ++c) {
        const char folded =
            (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : static_cast<char>(c);
        w->add(c, std::string(1, folded));
    }
    std::string error;
    REQUIRE(w->finish(error));
    return w;
}

MySqlKeyColumns user_and_email() {
    MySqlKeyColumnType id;
    id.kind = MySqlKeyColumnType::Kind::integer;
    id.integer = {4, false};
    MySqlKeyColumnType email;
    email.kind = MySqlKeyColumnType::Kind::string;
    email.max_chars = 20;
    return MySqlKeyColumns({{"user_id", id, nullptr}, {"email", email, upper_ascii()}});
}

using Row = std::vector<std::optional<std::string_view>>;
}  // namespace

TEST_CASE("Stored rows key as the INSERT's literals do", "[mysql][loader]") {
    const auto columns = user_and_email();
    KeySet set;
    MySqlKeySetBuilder builder(columns, true, 7, set);
    CHECK(builder.add_row(Row{"2", "Ann@x"}));
    CHECK(builder.add_row(Row{"0000000002", "ann@X  "}));  // ZEROFILL, case, PAD SPACE: one key
    CHECK(builder.add_row(Row{"3", "ann@x"}));
    CHECK(builder.add_row(Row{std::nullopt, "ann@x"}));
    const auto stats = builder.finish();
    CHECK(stats.rows == 4);
    CHECK(stats.rows_with_null == 1);
    CHECK(stats.distinct_fingerprints == 2);
    // The literal (2, 'ANN@X') of an INSERT has the fingerprint the load added.
    std::string key;
    CHECK(append_key_part(
        key, columns.literal_key(0, MySqlLiteral::exact_number, "2", ClientCharset::utf8mb4)));
    CHECK(append_key_part(
        key, columns.literal_key(1, MySqlLiteral::string, "ANN@X", ClientCharset::utf8mb4)));
    CHECK(set.contains(fingerprint_encoded_key(key, 7)));
}

TEST_CASE("NULLs count as values when nulls are not distinct", "[mysql][loader]") {
    const auto columns = user_and_email();
    KeySet set;
    MySqlKeySetBuilder builder(columns, false, 0, set);
    CHECK(builder.add_row(Row{std::nullopt, "a"}));
    CHECK(builder.add_row(Row{std::nullopt, "A"}));
    CHECK(builder.finish().distinct_fingerprints == 1);
}

TEST_CASE("A value that cannot be keyed fails the load, naming the column only",
          "[mysql][loader]") {
    const auto columns = user_and_email();
    KeySet set;
    MySqlKeySetBuilder builder(columns, true, 0, set);
    CHECK(builder.add_row(Row{"1", "a"}));
    CHECK_FALSE(builder.add_row(Row{"1", "caf\xc3\xa9-secret"}));  // é: no weight in this table
    CHECK(builder.error() ==
          "row 2: a value of column \"email\" cannot be read as the server compares it (the "
          "proxy cannot compare this column's keys)");
}
