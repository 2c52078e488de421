#include "app/audit/duplicate_groups.hpp"

#include <catch2/catch.hpp>

#include "app/audit/audit_report.hpp"

using namespace uniqguard::app::audit;

namespace {

Row row(std::initializer_list<Value> values) { return Row(values); }

}  // namespace

TEST_CASE("rows of the stream are grouped by group number; totals count every group", "[audit]") {
    GroupCollector c(2, 1, 1);
    c.add(row({"1", "2", "1", "4"}));
    c.add(row({"1", "2", "1", "7"}));
    c.add(row({"1", "2", "1", "9"}));
    c.add(row({"2", "3", std::nullopt, "5"}));
    c.add(row({"2", "3", std::nullopt, "6"}));
    const DuplicateSummary& s = c.summary();
    CHECK(s.groups == 2);
    CHECK(s.rows == 5);
    CHECK(s.excess() == 3);
    REQUIRE(s.shown.size() == 1);  // limit 1
    CHECK(s.shown[0].key == row({"2", "1"}));
    CHECK(s.shown[0].count == 3);
    REQUIRE(s.shown[0].rows.size() == 3);
    CHECK(s.shown[0].rows[0] == row({"4"}));
    CHECK(s.shown[0].rows[2] == row({"9"}));
}

TEST_CASE("a row of the wrong shape is an error, not a guess", "[audit]") {
    GroupCollector c(1, 1, 10);
    CHECK_THROWS_AS(c.add(row({"1", "a"})), DbError);
}

TEST_CASE("the audit table aligns its columns and names NULL", "[audit]") {
    GuardResult r{.guard = "enroll_uniq",
                  .table = "public.enroll",
                  .key = {"user_id", "course"},
                  .identity = {"id"}};
    GroupCollector c(2, 1, 100);
    c.add(row({"1", "2", "algebra", "4"}));
    c.add(row({"1", "2", "algebra", "17"}));
    c.add(row({"2", "10", std::nullopt, "5"}));
    c.add(row({"2", "10", std::nullopt, "6"}));
    r.duplicates = c.summary();
    CHECK(render_audit(r, 100) ==
          "guard enroll_uniq (public.enroll: user_id, course)\n"
          "  2 duplicate groups, 4 rows in them, 2 to remove to leave one row per key\n"
          "  user_id  course   rows  id\n"
          "  2        algebra  2     4 17\n"
          "  10       NULL     2     5 6\n");
    CHECK(render_plan(r, 100, false, "") ==
          "guard enroll_uniq (public.enroll: user_id, course)\n"
          "  keep oldest: the row with the smallest id\n"
          "  2 duplicate groups, 2 rows to remove, 2 kept\n"
          "  user_id  course   keep id  remove id\n"
          "  2        algebra  4        17\n"
          "  10       NULL     5        6\n");
}

TEST_CASE("a composite identity is shown in parentheses", "[audit]") {
    CHECK(show_identity(row({"1", "2"})) == "(1, 2)");
    CHECK(show_identity(row({"(0,1)"})) == "(0,1)");
}
