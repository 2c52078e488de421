// Which UPDATE conditions the MySQL guard's check reads as the UPDATE does
// (guard/mysql_repeatable_where.hpp).
#include "guard/mysql_repeatable_where.hpp"

#include <catch2/catch.hpp>

using namespace uniqguard;

namespace {

std::optional<std::string> unrepeatable(const std::string& where) {
    return guard::mysql_unrepeatable_in_where(where, {});
}

}  // namespace

TEST_CASE("ConditionsOfColumnsLiteralsAndDeterministicBuiltinsAreRepeatable", "[mysql][guard]") {
    CHECK_FALSE(unrepeatable("id = 1"));
    CHECK_FALSE(unrepeatable("t.id IN (1, 2) AND NOT (note LIKE 'a%') OR user_id IS NULL"));
    CHECK_FALSE(unrepeatable("LOWER(course_id) = 'a' AND COALESCE(note, '') <> ''"));
    CHECK_FALSE(unrepeatable("id BETWEEN 1 AND 3 /* plain comment */ AND ROUND(id) = id"));
    CHECK_FALSE(unrepeatable("note = 'RAND() @x SELECT'"));  // inside a string: data
}

TEST_CASE("WhatTheCheckCouldReadOtherwiseIsNamed", "[mysql][guard]") {
    CHECK(unrepeatable("(@n := @n + 1) > 2") == "a variable");
    CHECK(unrepeatable("id = @@last_insert_id") == "a variable");
    CHECK(unrepeatable("RAND() < 0.5") == "the function RAND()");
    CHECK(unrepeatable("id = NEXTVAL(s)") == "the function NEXTVAL()");
    CHECK(unrepeatable("created < NOW()") == "the function NOW()");
    CHECK(unrepeatable("id = my_stored_function(1)") == "the function my_stored_function()");
    CHECK(unrepeatable("id = (SELECT id FROM t2 ORDER BY id LIMIT 1)") == "a subquery");
    CHECK(unrepeatable("id IN (select 1)") == "a subquery");
    CHECK(unrepeatable("id = 1 /*!50000 OR id = 2 */") == "an executable comment");
    CHECK(unrepeatable("note = 'unterminated") == "text the proxy cannot read");
}
