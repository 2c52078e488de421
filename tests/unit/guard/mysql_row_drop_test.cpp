// Cutting dropped rows out of a MySQL INSERT's text (guard/mysql_row_drop.hpp), over the ranges
// the MySQL parser gives.
#include "guard/mysql_row_drop.hpp"

#include <catch2/catch.hpp>

#include "guard/mysql_check_sql.hpp"
#include "sql/mysql_parser.hpp"

using namespace uniqguard;

namespace {

std::optional<std::string> without(const std::string& sql, const std::vector<bool>& dropped) {
    const auto parsed = sql::parse_mysql(sql, {});
    REQUIRE(parsed);
    const auto* insert = parsed.statements.at(0).get<sql::InsertStatement>();
    REQUIRE(insert != nullptr);
    return guard::mysql_insert_without_rows(sql, insert->row_ranges, dropped);
}

}  // namespace

TEST_CASE("DroppedRowsAreCutAndTheRestOfTheTextStays", "[mysql][guard]") {
    const std::string sql =
        "INSERT IGNORE INTO t (a, b) VALUES (1, 'x'),(2, '),('), /* c */ (3, 'z') RETURNING a;";
    CHECK(without(sql, {false, true, false}) ==
          "INSERT IGNORE INTO t (a, b) VALUES (1, 'x'), (3, 'z') RETURNING a;");
    CHECK(without(sql, {true, false, true}) ==
          "INSERT IGNORE INTO t (a, b) VALUES (2, '),(') RETURNING a;");
    CHECK(without(sql, {true, true, false}) ==
          "INSERT IGNORE INTO t (a, b) VALUES (3, 'z') RETURNING a;");
    CHECK(without(sql, {false, false, false}) ==
          "INSERT IGNORE INTO t (a, b) VALUES (1, 'x'), (2, '),('), (3, 'z') RETURNING a;");
    // Nothing kept: no INSERT is left to send.
    CHECK_FALSE(without(sql, {true, true, true}));
    CHECK(without("INSERT INTO t VALUE ROW(1), ROW(2)", {true, false}) ==
          "INSERT INTO t VALUE ROW(2)");
}

TEST_CASE("AnExecutableCommentAmongTheRowsIsNotCut", "[mysql][guard]") {
    // The server reads `, (2)` inside the comment: cutting (1) would leave `*/` behind.
    CHECK_FALSE(without("INSERT INTO t VALUES (1) /*! , (2) */", {true, false}));
    CHECK_FALSE(without("INSERT INTO t VALUES (1) /*M! , (2) */", {false, true}));
    CHECK_FALSE(without("INSERT INTO t VALUES (1), ('/*!'), (3)", {false, false, true}));
    // Opened before the rows, closed among them: the server reads `(1),` as SQL.
    CHECK_FALSE(without("INSERT INTO t VALUES /*!50000 (1), */ (2)", {true, false}));
    CHECK_FALSE(without("INSERT INTO t /*!40000 VALUES (1) */, (2)", {true, false}));
    // Outside the rows, or an ordinary comment: cut.
    CHECK(without("INSERT /*! IGNORE */ INTO t VALUES (1), (2)", {true, false}) ==
          "INSERT /*! IGNORE */ INTO t VALUES (2)");
}

TEST_CASE("RangesThatDoNotFitTheTextCutNothing", "[mysql][guard]") {
    const std::vector<sql::SourceRange> rows{{5, 3}, {10, 3}};
    CHECK_FALSE(guard::mysql_insert_without_rows("0123456789", rows, {true, false}));  // past end
    CHECK_FALSE(guard::mysql_insert_without_rows("0123456789abc", rows, {true}));      // sizes
    const std::vector<sql::SourceRange> overlapping{{2, 3}, {4, 3}};
    CHECK_FALSE(guard::mysql_insert_without_rows("0123456789", overlapping, {true, false}));
    const std::vector<sql::SourceRange> unknown{{}, {4, 3}};
    CHECK_FALSE(guard::mysql_insert_without_rows("0123456789", unknown, {true, false}));
    CHECK(guard::mysql_insert_without_rows("0123456789abc", rows, {true, false}) == "01234abc");
}

TEST_CASE("EveryRowDroppedIsAWarningSignal", "[mysql][guard]") {
    CHECK(guard::mysql_rows_dropped_sql("Duplicate entry '1' for key 'k'") ==
          guard::mysql_signal_sql(1062, "01000", "Duplicate entry '1' for key 'k'"));
    CHECK(guard::mysql_rows_dropped_sql("x").starts_with(
        "SIGNAL SQLSTATE '01000' SET MYSQL_ERRNO = 1062, MESSAGE_TEXT = _utf8mb4 "));
}
