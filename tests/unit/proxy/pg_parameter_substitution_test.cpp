#include "proxy/pg_parameter_substitution.hpp"

#include <catch2/catch.hpp>

using namespace uniqguard;
using namespace uniqguard::proxy;
namespace pg = uniqguard::protocol::postgres;

namespace {
// 2026-01-01 11:00:00 UTC in microseconds since 2000-01-01, as the binary timestamp(tz) sends it.
const std::string kInstant("\x00\x02\xea\x50\x43\x40\x6c\x00", 8);
const std::string kFive("\x00\x00\x00\x05", 4);

guard::GuardTable enroll() {
    guard::GuardTable t;
    t.schema = "public";
    t.name = "enroll";
    t.columns = {{.name = "user_id", .type_name = "integer", .type_oid = 23},
                 {.name = "at", .type_name = "timestamp without time zone", .type_oid = 1114},
                 {.name = "Note", .type_name = "text", .type_oid = 25}};
    return t;
}

// One binary parameter of unspecified type.
struct OneBinary {
    std::string value;
    pg::BindMessage bind;
    std::vector<std::uint32_t> types{0};
    explicit OneBinary(std::string v) : value(std::move(v)) {
        bind.formats = {1};
        bind.values = {std::string_view(value)};
    }
    std::optional<std::string> in(std::string_view text, const SubstitutionContext& c = {}) {
        return substitute_parameters(text, {bind, types}, c);
    }
};
}  // namespace

TEST_CASE("a binary parameter of unspecified type is read as the cast's type") {
    OneBinary p(kInstant);
    CHECK(p.in("$1::timestamptz", {.whole_value_oid = 1114}) ==
          "(E'2026-01-01 11:00:00+00'::timestamptz)::timestamptz");
    CHECK(p.in("$1::timestamp with time zone") ==
          "(E'2026-01-01 11:00:00+00'::timestamptz)::timestamp with time zone");
    CHECK(p.in("$1::pg_catalog.timestamp(3)") ==
          "(E'2026-01-01 11:00:00'::timestamp)::pg_catalog.timestamp(3)");
    CHECK(p.in("CAST($1 AS timestamp without time zone)") ==
          "CAST((E'2026-01-01 11:00:00'::timestamp) AS timestamp without time zone)");
    OneBinary five(kFive);
    CHECK(five.in("$1::int4 + 1") == "(E'5'::int4)::int4 + 1");
    CHECK(five.in("lower($1::integer::text)") == "lower((E'5'::int4)::integer::text)");
}

TEST_CASE("a cast the proxy cannot read refuses the substitution") {
    OneBinary p(kFive);
    CHECK(p.in("$1::int4[]") == std::nullopt);
    CHECK(p.in("$1::int4 array") == std::nullopt);
    CHECK(p.in("$1::float8") == std::nullopt);    // not a key type
    CHECK(p.in("$1::\"char\"") == std::nullopt);  // quoted: another type
    CHECK(p.in("$1::char") == std::nullopt);      // char(1): the proxy does not guess
    CHECK(p.in("$1::myschema.int4") == std::nullopt);
    CHECK(p.in("CAST($1 AS int4[])") == std::nullopt);
}

TEST_CASE("a bare binary parameter takes the column's type only as a whole value") {
    OneBinary p(kFive);
    CHECK(p.in("$1", {.whole_value_oid = 23}) == "(E'5'::int4)");
    CHECK(p.in("$1") == std::nullopt);
    CHECK(p.in("$1 + 1", {.whole_value_oid = 23}) == std::nullopt);
    CHECK(p.in("($1)", {.whole_value_oid = 23}) == std::nullopt);
    CHECK(p.in("coalesce($1, 0)", {.whole_value_oid = 23}) == std::nullopt);
}

TEST_CASE("column = $n types the parameter as the target's column") {
    const auto table = enroll();
    OneBinary p(kFive);
    const SubstitutionContext bare{.table = &table, .qualifier = "enroll"};
    CHECK(p.in("user_id = $1", bare) == "user_id = (E'5'::int4)");
    CHECK(p.in("enroll.user_id = $1 AND true", bare) == "enroll.user_id = (E'5'::int4) AND true");
    CHECK(p.in("x = 1 AND (\"user_id\" = $1)", bare) == "x = 1 AND (\"user_id\" = (E'5'::int4))");
    CHECK(p.in("user_id = $1 RETURNING *", bare) == "user_id = (E'5'::int4) RETURNING *");
    // Another table's column, an unknown column, an operator on either side: not inferred.
    CHECK(p.in("other.user_id = $1", bare) == std::nullopt);
    CHECK(p.in("\"User_id\" = $1", bare) == std::nullopt);
    CHECK(p.in("user_id = $1 + 1", bare) == std::nullopt);
    CHECK(p.in("user_id = $1 || 'x'", bare) == std::nullopt);
    CHECK(p.in("1 + user_id = $1", bare) == std::nullopt);
    CHECK(p.in("user_id < $1", bare) == std::nullopt);
    CHECK(p.in("$1 = user_id", bare) == std::nullopt);
    CHECK(p.in("user_id = $1", {}) == std::nullopt);  // no table: no inference
    // A subquery's own columns, a BETWEEN's AND: not the target's column.
    CHECK(p.in("id IN (SELECT id FROM r WHERE user_id = $1)", bare) == std::nullopt);
    CHECK(p.in("x BETWEEN 1 AND user_id = $1", bare) == std::nullopt);
    // Without the statement's name for its target, no subquery's FROM is read.
    CHECK(p.in("id IN (SELECT id FROM enroll WHERE user_id = $1)", bare) == std::nullopt);
    const SubstitutionContext aliased{.table = &table, .qualifier = "u"};
    CHECK(p.in("u.user_id = $1", aliased) == "u.user_id = (E'5'::int4)");
    CHECK(p.in("enroll.user_id = $1", aliased) == std::nullopt);  // the alias hides the name
}

TEST_CASE("column = $n inside a SELECT types the parameter only when its FROM is the target") {
    const auto table = enroll();
    OneBinary p(kFive);
    const sql::QualifiedName target{.schema = {}, .name = "enroll"};
    const SubstitutionContext c{.table = &table, .qualifier = "enroll", .target_name = &target};
    const std::string five = "(E'5'::int4)";
    CHECK(p.in("id IN (SELECT id FROM enroll WHERE user_id = $1)", c) ==
          "id IN (SELECT id FROM enroll WHERE user_id = " + five + ")");
    CHECK(p.in("NOT EXISTS (SELECT 1 FROM ONLY enroll AS e WHERE e.user_id = $1 AND x)", c) ==
          "NOT EXISTS (SELECT 1 FROM ONLY enroll AS e WHERE e.user_id = " + five + " AND x)");
    CHECK(p.in("EXISTS (SELECT 1 FROM enroll e WHERE (user_id = $1))", c) ==
          "EXISTS (SELECT 1 FROM enroll e WHERE (user_id = " + five + "))");
    // A subquery closed before the comparison does not change its level's FROM.
    CHECK(p.in("EXISTS (SELECT 1 FROM enroll WHERE a IN (SELECT b FROM r) AND user_id = $1)", c) ==
          "EXISTS (SELECT 1 FROM enroll WHERE a IN (SELECT b FROM r) AND user_id = " + five + ")");
    // The alias hides the table's name; another table, a join, a list, a schema the statement
    // did not write, no FROM at all: the column is not known to be the target's.
    CHECK(p.in("EXISTS (SELECT 1 FROM enroll e WHERE enroll.user_id = $1)", c) == std::nullopt);
    CHECK(p.in("EXISTS (SELECT 1 FROM r WHERE user_id = $1)", c) == std::nullopt);
    CHECK(p.in("EXISTS (SELECT 1 FROM enroll JOIN r ON true WHERE user_id = $1)", c) ==
          std::nullopt);
    CHECK(p.in("EXISTS (SELECT 1 FROM enroll, r WHERE user_id = $1)", c) == std::nullopt);
    CHECK(p.in("EXISTS (SELECT 1 FROM public.enroll WHERE user_id = $1)", c) == std::nullopt);
    CHECK(p.in("EXISTS (SELECT 1 WHERE user_id = $1)", c) == std::nullopt);
    CHECK(p.in("EXISTS (SELECT 1 FROM enroll(1) WHERE user_id = $1)", c) == std::nullopt);
    // The SELECT after a UNION has its own FROM.
    CHECK(p.in("EXISTS (SELECT 1 FROM enroll WHERE true UNION SELECT 1 FROM r WHERE user_id = $1)",
               c) == std::nullopt);
    // INSERT … SELECT's own SELECT reads its FROM as well.
    CHECK(p.in("INSERT INTO enroll SELECT * FROM r WHERE user_id = $1", c) == std::nullopt);
    CHECK(p.in("INSERT INTO enroll SELECT * FROM enroll WHERE user_id = $1", c) ==
          "INSERT INTO enroll SELECT * FROM enroll WHERE user_id = " + five);
    // A WITH list may name a query as the table is named (not a cast's `with time zone`).
    CHECK(p.in("WITH enroll AS (SELECT 1) INSERT INTO enroll SELECT * FROM enroll WHERE user_id "
               "= $1",
               c) == std::nullopt);
    CHECK(p.in("EXISTS (SELECT 1 FROM enroll WHERE user_id = $1 AND at < now()::timestamp with "
               "time zone)",
               c) == "EXISTS (SELECT 1 FROM enroll WHERE user_id = " + five +
                         " AND at < now()::timestamp with time zone)");
    // A query named `time` in a WITH list is no `with time zone`; IS DISTINCT FROM is no FROM
    // clause (review of b5b88f2).
    CHECK(p.in("EXISTS (WITH time AS (SELECT 1), enroll AS (SELECT now() AS at) SELECT 1 FROM "
               "enroll WHERE at = $1)",
               c) == std::nullopt);
    CHECK(p.in("EXISTS (SELECT r.k IS DISTINCT FROM enroll WHERE user_id = $1)", c) ==
          std::nullopt);
    // A schema-qualified target matches the same qualified name only.
    const sql::QualifiedName qualified{.schema = "public", .name = "enroll"};
    const SubstitutionContext q{.table = &table, .qualifier = "enroll", .target_name = &qualified};
    CHECK(p.in("EXISTS (SELECT 1 FROM public.enroll WHERE enroll.user_id = $1)", q) ==
          "EXISTS (SELECT 1 FROM public.enroll WHERE enroll.user_id = " + five + ")");
    CHECK(p.in("EXISTS (SELECT 1 FROM enroll WHERE user_id = $1)", q) == std::nullopt);
}

TEST_CASE("parameters inside strings are not substituted") {
    OneBinary p(kFive);
    // Standard strings: '\' ends at the quote, so `$1` after it is a parameter.
    CHECK(p.in("'\\' || $1::int4") == "'\\' || (E'5'::int4)::int4");
    // Off: \' is an escaped quote and `$1::int4` is inside the string.
    CHECK(p.in("'\\' || $1::int4'", {.standard_conforming_strings = false}) == "'\\' || $1::int4'");
    // An unterminated string may hide one: refused.
    CHECK(p.in("'\\' || $1::int4", {.standard_conforming_strings = false}) == std::nullopt);
}

TEST_CASE("text and typed parameters are written as before") {
    pg::BindMessage bind;
    bind.values = {std::string_view("7"), std::nullopt};
    const std::vector<std::uint32_t> unspecified{0, 0};
    CHECK(substitute_parameters("$1 + $2", {bind, unspecified}, {}) == "(E'7') + (NULL)");
    const std::vector<std::uint32_t> typed{23, 25};
    CHECK(substitute_parameters("$1 + $2", {bind, typed}, {}) == "(E'7'::int4) + (NULL::text)");
    CHECK(substitute_parameters("$3", {bind, typed}, {}) == std::nullopt);
    CHECK(substitute_parameters("$0", {bind, typed}, {}) == std::nullopt);
}

TEST_CASE("a parameter of unspecified type used twice keeps the type its uses agree on") {
    const auto table = enroll();
    const SubstitutionContext c{.table = &table, .qualifier = "enroll"};
    const std::vector<std::uint32_t> none;
    // Bare VALUES values of int4 columns twice: int4. $2 once: left unspecified.
    const std::string insert = "INSERT INTO enroll (user_id, at) VALUES ($1, $2), ($1, $3)";
    CHECK(with_repeated_parameter_types(insert, none, {{41, 23}, {51, 23}}, c) ==
          std::vector<std::uint32_t>{23, 0, 0});
    // A cast and a bare value of another type: no common type.
    const std::string mixed = "INSERT INTO enroll (user_id, at) VALUES ($1::int4, $1)";
    CHECK(with_repeated_parameter_types(mixed, none, {{51, 1114}}, c) ==
          std::vector<std::uint32_t>{kNoCommonType});
    // The UPDATE of the review: WHERE reads $1 as timestamptz, SET as the column's timestamp.
    const std::string update =
        "UPDATE enroll SET at = $1 WHERE user_id = $2 AND $1::timestamptz > now()";
    CHECK(with_repeated_parameter_types(update, none, {}, c) ==
          std::vector<std::uint32_t>{kNoCommonType, 0});
    // SET and WHERE on the same column agree; a declared type is kept whatever the uses.
    const std::string same = "UPDATE enroll SET user_id = $1, at = $2 WHERE user_id = $1";
    CHECK(with_repeated_parameter_types(same, none, {}, c) == std::vector<std::uint32_t>{23, 0});
    CHECK(with_repeated_parameter_types(update, {1184, 23}, {}, c) ==
          std::vector<std::uint32_t>{1184, 23});
    // A use the proxy cannot type that the server may type first (an operand in the WHERE,
    // analysed before the SET; the review's `Note = $1 WHERE … $1 <> 0`): no common type.
    const std::string operand = "UPDATE enroll SET user_id = $1 WHERE user_id = $1 + 1";
    CHECK(with_repeated_parameter_types(operand, none, {}, c) ==
          std::vector<std::uint32_t>{kNoCommonType});
    const std::string review = "UPDATE enroll SET \"Note\" = $1 WHERE user_id = $2 AND $1 <> 0";
    CHECK(with_repeated_parameter_types(review, none, {}, c) ==
          std::vector<std::uint32_t>{kNoCommonType, 0});
    // INSERT … SELECT's bare select items are typed by the server after the rest: with a
    // typed use elsewhere, partly typed (read as text untyped, refused in binary).
    const std::string select_items =
        "INSERT INTO enroll (user_id, at) SELECT $1, $2 WHERE $1::int4 > 0";
    const auto partly = with_repeated_parameter_types(select_items, none, {}, c);
    CHECK(partly == std::vector<std::uint32_t>{kPartlyTyped, 0});
    CHECK(parameter_type(partly, 0, false) == 0);
    CHECK(parameter_type(partly, 0, true) == kNoCommonType);
    // node-postgres' idiom: the other use compares with a subquery's column, of the target
    // (typed) or of any table (the bare item's column must then have that column's type, or
    // the server refuses the Parse): partly typed, as above.
    const std::string not_exists =
        "INSERT INTO enroll (user_id) SELECT $1 WHERE NOT EXISTS (SELECT 1 FROM enroll "
        "WHERE user_id = $1)";
    const sql::QualifiedName target{.schema = {}, .name = "enroll"};
    SubstitutionContext named = c;
    named.target_name = &target;
    CHECK(with_repeated_parameter_types(not_exists, none, {}, named) ==
          std::vector<std::uint32_t>{kPartlyTyped});
    CHECK(with_repeated_parameter_types(not_exists, none, {}, c) ==
          std::vector<std::uint32_t>{kPartlyTyped});
    CHECK(with_repeated_parameter_types("INSERT INTO enroll (user_id) SELECT $1 WHERE NOT "
                                        "EXISTS (SELECT 1 FROM r WHERE r.user_id = $1)",
                                        none, {},
                                        named) == std::vector<std::uint32_t>{kPartlyTyped});
    // Without a bare item, comparisons with columns the proxy cannot type may disagree.
    CHECK(with_repeated_parameter_types("INSERT INTO enroll (user_id) SELECT a FROM r WHERE "
                                        "a = $1 OR b = $1",
                                        none, {},
                                        named) == std::vector<std::uint32_t>{kNoCommonType});
    // Only where the server reads them after the bare item and before assigning it (the
    // SELECT's WHERE … LIMIT), one comparison alone: a use in FROM or RETURNING, or a second
    // use beside the comparison, reads the parameter typed otherwise (review of b5b88f2).
    for (const char* statement :
         {"INSERT INTO enroll (user_id, at) SELECT $1, $2 FROM (SELECT count(*) FROM ev WHERE "
          "ev.seen = $2) s",
          "INSERT INTO enroll (user_id, at) SELECT $1, $2 FROM (SELECT $2::timestamptz) s",
          "INSERT INTO enroll (user_id, at) SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM enroll "
          "WHERE at = $2) AND NOT EXISTS (SELECT 1 FROM ev WHERE ev.seen = $2)",
          "INSERT INTO enroll (at, user_id) SELECT $2, $1 RETURNING id, (SELECT count(*) FROM ev "
          "WHERE ev.seen = $2) AS n",
          "INSERT INTO enroll (at, user_id) SELECT $2, $1 WHERE true RETURNING $2::timestamptz",
          "INSERT INTO enroll (at, user_id) SELECT $2::timestamptz, $2, $1",
          "INSERT INTO enroll (at, user_id) SELECT $2, $1 WHERE $2::timestamp > now() UNION "
          "SELECT now(), 1"})
        CHECK(with_repeated_parameter_types(statement, none, {}, named)[1] == kNoCommonType);
    CHECK(with_repeated_parameter_types("INSERT INTO enroll (at, user_id) SELECT $2, $1 WHERE "
                                        "NOT EXISTS (SELECT 1 FROM ev WHERE ev.seen = $2) ORDER "
                                        "BY 1 LIMIT 1",
                                        none, {}, named)[1] == kPartlyTyped);
    // An INSERT's ON CONFLICT clause and RETURNING list are analysed after its rows: a use
    // there reads the type a use in the rows fixed (asyncpg's `SET note = e.note || $3`).
    CHECK(with_repeated_parameter_types("INSERT INTO enroll AS e (user_id, \"Note\") VALUES ($1, "
                                        "$2) ON CONFLICT (user_id) DO UPDATE SET \"Note\" = "
                                        "e.\"Note\" || $2 RETURNING $1 + 1",
                                        none, {{50, 23}, {54, 25}},
                                        named) == std::vector<std::uint32_t>{23, 25});
    // …but only with a typed use in the rows: two uses there alone may disagree.
    CHECK(with_repeated_parameter_types("INSERT INTO enroll (user_id) VALUES ($1) ON CONFLICT "
                                        "(user_id) DO UPDATE SET at = $2 + 1 WHERE $2 > 0",
                                        none, {{37, 23}},
                                        named) == std::vector<std::uint32_t>{0, kNoCommonType});
    // Nor beside a bare item in an UPDATE (not an INSERT … SELECT).
    CHECK(with_repeated_parameter_types("UPDATE enroll SET user_id = $1 WHERE id IN (SELECT "
                                        "id FROM r WHERE a = $1)",
                                        none, {},
                                        named) == std::vector<std::uint32_t>{kNoCommonType});
    // …but not an operand in that list, nor a bare item of a subquery's list.
    CHECK(with_repeated_parameter_types("INSERT INTO enroll (user_id) SELECT $1 + 0 WHERE "
                                        "NOT EXISTS (SELECT 1 FROM enroll WHERE user_id = $1)",
                                        none, {},
                                        named) == std::vector<std::uint32_t>{kNoCommonType});
    CHECK(with_repeated_parameter_types("INSERT INTO enroll (user_id) SELECT $1 WHERE NOT EXISTS "
                                        "(SELECT $1 FROM enroll WHERE user_id = $1)",
                                        none, {},
                                        named) == std::vector<std::uint32_t>{kNoCommonType});
}

TEST_CASE("a parameter without a common type is not written") {
    pg::BindMessage bind;
    bind.values = {std::string_view("007"), std::nullopt};
    const std::vector<std::uint32_t> types{kNoCommonType, kNoCommonType};
    CHECK(substitute_parameters("$1", {bind, types}, {}) == std::nullopt);
    CHECK(substitute_parameters("$2", {bind, types}, {}) == "(NULL)");  // NULL has no type
}
