// The text of an ON DUPLICATE KEY UPDATE naming its existing row (guard/mysql_upsert_sql.hpp).
#include "guard/mysql_upsert_sql.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace uniqguard;
using guard::mysql_upsert_naming_rows;

namespace {

// `text` named by row id 42, its row being the last occurrence of `row`.
std::optional<std::string> named(const std::string& text, const std::string& row) {
    return mysql_upsert_naming_rows(text, {sql::SourceRange{text.rfind(row), row.size()}}, "id",
                                    {"42"});
}

}  // namespace

TEST_CASE("ThePrimaryKeyGoesAtTheEndOfTheColumnListAndOfTheRow", "[mysql][guard][upsert]") {
    CHECK(
        named("INSERT INTO t (a, b) VALUES (1, 'x') ON DUPLICATE KEY UPDATE b = 'y'", "(1, 'x')") ==
        "INSERT INTO t (a, b, `id`) VALUES (1, 'x', 42) ON DUPLICATE KEY UPDATE b = 'y'");
    CHECK(named("insert t (`a` )\n values\t(1 ) on duplicate key update b = 2", "(1 )") ==
          "insert t (`a` , `id`)\n values\t(1 , 42) on duplicate key update b = 2");
    CHECK(named("INSERT INTO t (a) VALUE (1) ON DUPLICATE KEY UPDATE b = 2", "(1)") ==
          "INSERT INTO t (a, `id`) VALUE (1, 42) ON DUPLICATE KEY UPDATE b = 2");
}

TEST_CASE("EachRowGetsItsIdOrDefault", "[mysql][guard][upsert]") {
    const std::string text =
        "INSERT INTO t (a, b) VALUES (1, 'x'),(2, 'y') , ( 3 ) ON DUPLICATE KEY UPDATE b = 'z'";
    const std::vector<sql::SourceRange> rows{
        {text.find("(1"), 8}, {text.find("(2"), 8}, {text.find("( 3"), 5}};
    CHECK(mysql_upsert_naming_rows(text, rows, "id", {"NULL", "42", "NULL"}) ==
          "INSERT INTO t (a, b, `id`) VALUES (1, 'x', NULL),(2, 'y', 42) , ( 3 , NULL) ON "
          "DUPLICATE KEY UPDATE b = 'z'");
}

TEST_CASE("AnUpsertOfAnotherShapeIsNotRewritten", "[mysql][guard][upsert]") {
    CHECK(!named("INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE b = 2", "(1)"));
    CHECK(!named("INSERT INTO t (a) /* c */ VALUES (1) ON DUPLICATE KEY UPDATE b = 2", "(1)"));
    CHECK(!named("INSERT INTO t (a) VALUES (1) /*!ON DUPLICATE KEY UPDATE b = 2 */", "(1)"));
    CHECK(!named("INSERT INTO t () VALUES (1) ON DUPLICATE KEY UPDATE b = 2", "(1)"));
    CHECK(!named("INSERT INTO t (a) VALUES () ON DUPLICATE KEY UPDATE b = 2", "()"));
    // The row's range must be a parenthesised row inside the text.
    CHECK(!mysql_upsert_naming_rows("INSERT INTO t (a) VALUES (1)", {{25, 9}}, "id", {"42"}));
    CHECK(!mysql_upsert_naming_rows("INSERT INTO t (a) VALUES 1", {{25, 1}}, "id", {"42"}));
    // As many ids as rows, the rows in order.
    CHECK(!mysql_upsert_naming_rows("INSERT INTO t (a) VALUES (1)", {{25, 3}}, "id", {}));
    CHECK(!mysql_upsert_naming_rows("INSERT INTO t (a) VALUES (1), (2)", {{30, 3}, {25, 3}}, "id",
                                    {"1", "2"}));
    CHECK(!named("INSERT INTO t (a) MYVALUES (1) ON DUPLICATE KEY UPDATE b = 2", "(1)"));
}

TEST_CASE("TheProbeAnswerIsACountAndAnIntegerId", "[mysql][guard][upsert]") {
    const auto one = guard::parse_mysql_upsert_probe("1:42");
    REQUIRE(one);
    CHECK(one->rows == 1);
    CHECK(one->row_id == "42");
    // No row: the id is the placeholder 0 (not '', which EMPTY_STRING_IS_NULL makes NULL).
    const auto none = guard::parse_mysql_upsert_probe("0:0");
    REQUIRE(none);
    CHECK(none->rows == 0);
    CHECK(none->row_id.empty());
    CHECK(guard::parse_mysql_upsert_probe("3:-7")->row_id == "-7");
    CHECK(!guard::parse_mysql_upsert_probe("1:"));
    CHECK(!guard::parse_mysql_upsert_probe("0:"));
    CHECK(!guard::parse_mysql_upsert_probe("1:4a"));
    CHECK(!guard::parse_mysql_upsert_probe("1:-"));
    CHECK(!guard::parse_mysql_upsert_probe(":1"));
    CHECK(!guard::parse_mysql_upsert_probe("1"));
}

TEST_CASE("SeveralProbesAreAskedInOneQuery", "[mysql][guard][upsert]") {
    const guard::MySqlKeyColumns columns({{"k", {}, nullptr}});
    const guard::MySqlKeyText one{"1"}, two{"'b'"};
    const std::vector<guard::MySqlKeyProbe> probes{{"s", "t", &columns, &one},
                                                   {"s", "t", &columns, &two}};
    CHECK(guard::mysql_upsert_probes_sql({probes.front()}, "id") ==
          guard::mysql_upsert_probe_sql(probes.front(), "id"));
    CHECK(guard::mysql_upsert_probes_sql(probes, "id") ==
          "SELECT CONCAT_WS(',', (" + guard::mysql_upsert_probe_sql(probes[0], "id") + "), (" +
              guard::mysql_upsert_probe_sql(probes[1], "id") + "))");
    const auto answers = guard::parse_mysql_upsert_probes("1:42,0:0,2:-3", 3);
    REQUIRE(answers);
    CHECK(answers->size() == 3);
    CHECK((*answers)[0].row_id == "42");
    CHECK((*answers)[1].rows == 0);
    CHECK((*answers)[2].rows == 2);
    CHECK((*answers)[2].row_id == "-3");
    CHECK(!guard::parse_mysql_upsert_probes("1:42,0:0", 3));
    CHECK(!guard::parse_mysql_upsert_probes("1:42,0:0,0:0,0:0", 3));
    CHECK(!guard::parse_mysql_upsert_probes("1:42,,0:0", 3));
    CHECK(!guard::parse_mysql_upsert_probes("1:42,0:x", 2));
}

TEST_CASE("ThePrimaryKeyIsFoundAsAWholeWord", "[mysql][guard][upsert]") {
    CHECK(guard::mysql_mentions_word(" ON DUPLICATE KEY UPDATE note = ID", "id"));
    CHECK(guard::mysql_mentions_word("note = VALUES(`id`)", "id"));
    CHECK(!guard::mysql_mentions_word("note = LAST_INSERT_ID(paid)", "id"));
    CHECK(!guard::mysql_mentions_word("video_id = 1", "id"));
}
