// TableMentionFilter: never "no" for a statement naming a guarded table, cheap "no" otherwise.
#include "sql/prefilter.hpp"

#include <catch2/catch.hpp>

using uniqguard::sql::TableMentionFilter;

TEST_CASE("PrefilterSaysNoForOtherTables", "[sql]") {
    const TableMentionFilter f({"courses_enroll", "Orders"});
    CHECK_FALSE(f.empty());
    CHECK_FALSE(f.may_mention("SELECT * FROM users WHERE id = 1"));
    CHECK_FALSE(f.may_mention("INSERT INTO courses (id) VALUES (1)"));
    CHECK_FALSE(f.may_mention("BEGIN"));
    CHECK_FALSE(f.may_mention(""));
}

TEST_CASE("PrefilterSaysYesWheneverTheNameAppears", "[sql]") {
    const TableMentionFilter f({"courses_enroll", "Orders"});
    CHECK(f.may_mention("INSERT INTO courses_enroll (a) VALUES (1)"));
    CHECK(f.may_mention("insert into public.COURSES_ENROLL values (1)"));
    CHECK(f.may_mention("UPDATE \"Courses_Enroll\" SET a = 1"));  // another table: still yes
    CHECK(f.may_mention("delete from orders"));
    CHECK(f.may_mention("select 'orders'"));  // spurious yes is allowed
    CHECK(f.may_mention("orders"));
    CHECK(f.may_mention("x orders"));
}

TEST_CASE("PrefilterIsConservativeAboutEscapesAndExecute", "[sql]") {
    const TableMentionFilter f({"orders"});
    CHECK(f.may_mention("INSERT INTO U&\"ord\\0065rs\" VALUES (1)"));
    CHECK(f.may_mention("EXECUTE ins_stmt(1, 2)"));
}

TEST_CASE("PrefilterWithoutTablesSaysNo", "[sql]") {
    const TableMentionFilter f({});
    CHECK(f.empty());
    CHECK_FALSE(f.may_mention("EXECUTE p"));
    CHECK_FALSE(f.may_mention("INSERT INTO anything VALUES (1)"));
}
