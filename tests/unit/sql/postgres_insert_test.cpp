// INSERT through the PostgreSQL adapter: table, columns, rows of values of every kind, ON
// CONFLICT forms, RETURNING, and the sources the proxy cannot read (SELECT, WITH, DEFAULT VALUES).
#include <catch2/catch.hpp>

#include "sql_test_util.hpp"

using namespace uniqguard::sql;
using uniqguard::sql::test::at;
using uniqguard::sql::test::only;
using uniqguard::sql::test::span_of;

namespace {

Value value_of(std::string_view sql) {
    const auto ins = only<InsertStatement>(sql);
    REQUIRE(ins.rows.size() == 1);
    REQUIRE(ins.rows[0].size() == 1);
    return ins.rows[0][0];
}

}  // namespace

TEST_CASE("InsertWithColumnListReadsTableColumnsAndValues", "[sql]") {
    const std::string sql = "INSERT INTO courses_enroll (user_id, course_id) VALUES (2, 1)";
    const auto ins = only<InsertStatement>(sql);
    CHECK(ins.table == QualifiedName{"", "courses_enroll"});
    CHECK(ins.alias.empty());
    CHECK(ins.columns == std::vector<std::string>{"user_id", "course_id"});
    REQUIRE(ins.rows.size() == 1);
    REQUIRE(ins.rows[0].size() == 2);
    const Value& a = ins.rows[0][0];
    CHECK(a.kind == ValueKind::literal_number);
    CHECK(a.text == "2");
    CHECK(a.range == SourceRange{at(sql, "2, 1"), 1});
    CHECK(a.literal == a.range);
    const Value& b = ins.rows[0][1];
    CHECK(b.kind == ValueKind::literal_number);
    CHECK(b.text == "1");
    CHECK(b.range == SourceRange{at(sql, "1)"), 1});
    CHECK_FALSE(ins.select_source);
    CHECK_FALSE(ins.default_values);
    CHECK_FALSE(ins.has_with);
    CHECK_FALSE(ins.returning);
    CHECK(ins.on_conflict.action == OnConflict::Action::none);
    CHECK(ins.overriding == Overriding::none);
}

TEST_CASE("InsertWithoutColumnListLeavesColumnsEmpty", "[sql]") {
    const auto ins = only<InsertStatement>("insert into t values ('a', 'b', 3)");
    CHECK(ins.columns.empty());
    REQUIRE(ins.rows.size() == 1);
    REQUIRE(ins.rows[0].size() == 3);
    CHECK(ins.rows[0][0].text == "a");
    CHECK(ins.rows[0][1].text == "b");
    CHECK(ins.rows[0][2].text == "3");
}

TEST_CASE("InsertMultiRowValuesKeepsEveryRowInOrder", "[sql]") {
    const std::string sql = "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'),\n (3, 'z')";
    const auto ins = only<InsertStatement>(sql);
    REQUIRE(ins.rows.size() == 3);
    for (std::size_t r = 0; r < 3; ++r) {
        REQUIRE(ins.rows[r].size() == 2);
        CHECK(ins.rows[r][0].kind == ValueKind::literal_number);
        CHECK(ins.rows[r][0].text == std::to_string(r + 1));
        CHECK(ins.rows[r][1].kind == ValueKind::literal_string);
        CHECK(ins.rows[r][1].text == std::string(1, static_cast<char>('x' + r)));
    }
    CHECK(ins.rows[2][1].range == span_of(sql, "'z'"));
}

TEST_CASE("LiteralCastWithDoubleColonKeepsTypeAndWholeRange", "[sql]") {
    const std::string sql = "INSERT INTO t (a) VALUES ('2'::int)";
    const Value v = value_of(sql);
    CHECK(v.kind == ValueKind::literal_string);
    CHECK(v.text == "2");
    REQUIRE(v.casts.size() == 1);
    CHECK(v.casts[0].name == QualifiedName{"pg_catalog", "int4"});
    CHECK(v.casts[0].to_string() == "int4");
    CHECK(v.range == span_of(sql, "'2'::int"));
    CHECK(v.literal == span_of(sql, "'2'"));
    CHECK_FALSE(v.volatile_or_unknown);
}

TEST_CASE("TextCastKeepsUnqualifiedTypeName", "[sql]") {
    const Value v = value_of("INSERT INTO t (a) VALUES ('abc'::text)");
    CHECK(v.kind == ValueKind::literal_string);
    CHECK(v.text == "abc");
    REQUIRE(v.casts.size() == 1);
    CHECK(v.casts[0].name == QualifiedName{"", "text"});
    CHECK(v.casts[0].to_string() == "text");
}

TEST_CASE("CastSyntaxWithTypmodKeepsTypmods", "[sql]") {
    const std::string sql =
        "INSERT INTO t (a, b) VALUES (CAST('x' AS uuid), CAST('1.5' AS numeric(10,2)))";
    const auto ins = only<InsertStatement>(sql);
    const Value& u = ins.rows[0][0];
    CHECK(u.kind == ValueKind::literal_string);
    CHECK(u.text == "x");
    REQUIRE(u.casts.size() == 1);
    CHECK(u.casts[0].to_string() == "uuid");
    CHECK(u.range == span_of(sql, "CAST('x' AS uuid)"));
    CHECK(u.literal == span_of(sql, "'x'"));
    const Value& n = ins.rows[0][1];
    CHECK(n.text == "1.5");
    REQUIRE(n.casts.size() == 1);
    CHECK(n.casts[0].typmods == std::vector<std::string>{"10", "2"});
    CHECK(n.casts[0].to_string() == "numeric(10,2)");
}

TEST_CASE("TypedLiteralPrefixIsACast", "[sql]") {
    const std::string sql = "INSERT INTO t (a) VALUES (int '5')";
    const Value v = value_of(sql);
    CHECK(v.kind == ValueKind::literal_string);
    CHECK(v.text == "5");
    REQUIRE(v.casts.size() == 1);
    CHECK(v.casts[0].to_string() == "int4");
    CHECK(v.range == span_of(sql, "int '5'"));
    CHECK(v.literal == span_of(sql, "'5'"));
}

TEST_CASE("ChainedCastsAreListedInnermostFirst", "[sql]") {
    const Value v = value_of("INSERT INTO t (a) VALUES ('7'::text::bigint)");
    CHECK(v.text == "7");
    REQUIRE(v.casts.size() == 2);
    CHECK(v.casts[0].to_string() == "text");
    CHECK(v.casts[1].to_string() == "int8");
}

TEST_CASE("ArrayAndTimestampCastsAreNormalised", "[sql]") {
    const auto ins = only<InsertStatement>(
        "INSERT INTO t VALUES ('{1}'::int[], 'now'::timestamp with time zone)");
    CHECK(ins.rows[0][0].casts.at(0).to_string() == "int4[]");
    CHECK(ins.rows[0][1].casts.at(0).to_string() == "timestamptz");
}

TEST_CASE("EscapeStringIsUnescaped", "[sql]") {
    const std::string sql = R"(INSERT INTO t (a) VALUES (E'a\'b\n\x41'))";
    const Value v = value_of(sql);
    CHECK(v.kind == ValueKind::literal_string);
    CHECK(v.text == "a'b\nA");
    CHECK(v.literal == span_of(sql, R"(E'a\'b\n\x41')"));
}

TEST_CASE("DoubledQuoteIsOneQuote", "[sql]") {
    const Value v = value_of("INSERT INTO t (a) VALUES ('it''s')");
    CHECK(v.text == "it's");
    CHECK(v.literal.length == 7);
}

TEST_CASE("DollarQuotedStringIsTakenVerbatim", "[sql]") {
    const std::string sql = "INSERT INTO t (a, b) VALUES ($$dollar$$, $q$it's $$ here$q$)";
    const auto ins = only<InsertStatement>(sql);
    CHECK(ins.rows[0][0].kind == ValueKind::literal_string);
    CHECK(ins.rows[0][0].text == "dollar");
    CHECK(ins.rows[0][0].range == span_of(sql, "$$dollar$$"));
    CHECK(ins.rows[0][1].text == "it's $$ here");
}

TEST_CASE("UnicodeEscapeStringIsDecoded", "[sql]") {
    const auto ins = only<InsertStatement>(
        "INSERT INTO t (a, b) VALUES (U&'d\\0061t\\+000061', U&'d!0061t' UESCAPE '!')");
    CHECK(ins.rows[0][0].text == "data");
    CHECK(ins.rows[0][1].text == "dat");
    CHECK(ins.rows[0][1].range.length == std::string_view("U&'d!0061t' UESCAPE '!'").size());
}

TEST_CASE("StringContinuedOnNextLineIsOneLiteral", "[sql]") {
    const std::string sql = "INSERT INTO t (a) VALUES ('ab'\n  'cd')";
    const Value v = value_of(sql);
    CHECK(v.text == "abcd");
    CHECK(v.literal == span_of(sql, "'ab'\n  'cd'"));
}

TEST_CASE("NegativeNumberIncludesItsSign", "[sql]") {
    const std::string sql = "INSERT INTO t (a, b, c) VALUES (-5, - 7, -1.50)";
    const auto ins = only<InsertStatement>(sql);
    CHECK(ins.rows[0][0].kind == ValueKind::literal_number);
    CHECK(ins.rows[0][0].text == "-5");
    CHECK(ins.rows[0][0].literal == span_of(sql, "-5"));
    CHECK(ins.rows[0][1].text == "-7");
    CHECK(ins.rows[0][1].literal == span_of(sql, "- 7"));
    CHECK(ins.rows[0][2].text == "-1.50");
}

TEST_CASE("NumbersKeepTheirSpelling", "[sql]") {
    const auto ins =
        only<InsertStatement>("INSERT INTO t VALUES (1.50, 1e3, 0005, 2147483648, .5, 00.10)");
    const std::vector<std::string> texts = {"1.50", "1e3", "5", "2147483648", ".5", "00.10"};
    REQUIRE(ins.rows[0].size() == texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
        CHECK(ins.rows[0][i].kind == ValueKind::literal_number);
        CHECK(ins.rows[0][i].text == texts[i]);
    }
}

TEST_CASE("NullDefaultAndBooleansAreTheirOwnKinds", "[sql]") {
    const std::string sql = "INSERT INTO t VALUES (NULL, DEFAULT, true, FALSE, NULL::int)";
    const auto ins = only<InsertStatement>(sql);
    const auto& row = ins.rows[0];
    REQUIRE(row.size() == 5);
    CHECK(row[0].kind == ValueKind::null);
    CHECK(row[0].literal == span_of(sql, "NULL"));
    CHECK(row[1].kind == ValueKind::default_);
    CHECK(row[1].literal == span_of(sql, "DEFAULT"));
    CHECK(row[2].kind == ValueKind::literal_bool);
    CHECK(row[2].text == "true");
    CHECK(row[3].kind == ValueKind::literal_bool);
    CHECK(row[3].text == "false");
    CHECK(row[4].kind == ValueKind::null);
    CHECK(row[4].casts.at(0).to_string() == "int4");
    CHECK(row[4].range == span_of(sql, "NULL::int"));
}

TEST_CASE("ParametersKeepTheirNumberAndCast", "[sql]") {
    const std::string sql = "INSERT INTO t (a, b, c) VALUES ($1, $2::uuid, $10)";
    const auto ins = only<InsertStatement>(sql);
    const auto& row = ins.rows[0];
    CHECK(row[0].kind == ValueKind::parameter);
    CHECK(row[0].parameter == 1);
    CHECK(row[0].literal == span_of(sql, "$1"));
    CHECK(row[1].kind == ValueKind::parameter);
    CHECK(row[1].parameter == 2);
    CHECK(row[1].casts.at(0).to_string() == "uuid");
    CHECK(row[1].range == span_of(sql, "$2::uuid"));
    CHECK(row[2].parameter == 10);
}

TEST_CASE("FunctionCallsAndOtherExpressionsAreNotEvaluated", "[sql]") {
    const std::string sql =
        "INSERT INTO t VALUES (now(), lower('X'), 1 + 2, (SELECT 1), a, CURRENT_TIMESTAMP, "
        "B'101', coalesce($1, 0)::int, ARRAY[1, 2])";
    const auto ins = only<InsertStatement>(sql);
    const auto& row = ins.rows[0];
    REQUIRE(row.size() == 9);
    for (const Value& v : row) {
        CHECK(v.kind == ValueKind::expression);
        CHECK(v.volatile_or_unknown);
        CHECK(v.literal == v.range);
    }
    CHECK(row[0].note == "function call");
    CHECK(row[0].range == span_of(sql, "now()"));
    CHECK(row[1].note == "function call");
    CHECK(row[1].range == span_of(sql, "lower('X')"));
    CHECK(row[2].note == "operator expression");
    CHECK(row[2].range == span_of(sql, "1 + 2"));
    CHECK(row[3].note == "subquery");
    CHECK(row[3].range == span_of(sql, "(SELECT 1)"));
    CHECK(row[4].note == "column reference");
    CHECK(row[5].note == "SQL value function");
    CHECK(row[6].note == "bit string literal");
    CHECK(row[7].note == "COALESCE");
    CHECK(row[7].casts.at(0).to_string() == "int4");
    CHECK(row[7].range == span_of(sql, "coalesce($1, 0)::int"));
    CHECK(row[8].note == "array constructor");
    CHECK(row[8].range == span_of(sql, "ARRAY[1, 2]"));
}

TEST_CASE("SchemaQualifiedAndQuotedNamesAreFoldedAsTheServerDoes", "[sql]") {
    const auto ins = only<InsertStatement>(
        R"(INSERT INTO App."Courses_Enroll" AS ce ("User_Id", Course_ID) VALUES (1, 2))");
    CHECK(ins.table == QualifiedName{"app", "Courses_Enroll"});
    CHECK(ins.table.to_string() == "app.Courses_Enroll");
    CHECK(ins.alias == "ce");
    CHECK(ins.columns == std::vector<std::string>{"User_Id", "course_id"});
    CHECK(ins.rows[0][1].text == "2");
}

TEST_CASE("ColumnNamedValuesDoesNotConfuseTheRowWalk", "[sql]") {
    const std::string sql = "INSERT INTO t (values, \"x\") VALUES (1, 2)";
    const auto ins = only<InsertStatement>(sql);
    CHECK(ins.columns == std::vector<std::string>{"values", "x"});
    CHECK(ins.rows[0][0].range == SourceRange{at(sql, "(1, 2)") + 1, 1});
}

TEST_CASE("ColumnIndirectionIsFlagged", "[sql]") {
    const auto ins = only<InsertStatement>("INSERT INTO t (a[1], b) VALUES (1, 2)");
    CHECK(ins.column_indirection);
    CHECK(ins.columns == std::vector<std::string>{"a", "b"});
}

TEST_CASE("ReturningListRangeRunsToTheEnd", "[sql]") {
    const std::string sql = "INSERT INTO t (a) VALUES (1) RETURNING id, (a + 1) AS b  ";
    const auto ins = only<InsertStatement>(sql);
    CHECK(ins.returning);
    CHECK(ins.returning_list == span_of(sql, "id, (a + 1) AS b"));
}

TEST_CASE("OnConflictDoNothingWithoutTarget", "[sql]") {
    const auto ins =
        only<InsertStatement>("INSERT INTO t (a, b) VALUES (1, 2) ON CONFLICT DO NOTHING");
    CHECK(ins.on_conflict.action == OnConflict::Action::do_nothing);
    CHECK(ins.on_conflict.target_columns.empty());
    CHECK(ins.on_conflict.constraint.empty());
    CHECK_FALSE(ins.on_conflict.target_unsupported);
    CHECK_FALSE(ins.on_conflict.has_target_where);
}

TEST_CASE("OnConflictColumnsDoNothing", "[sql]") {
    const auto ins = only<InsertStatement>(
        "INSERT INTO t (a, b) VALUES (1, 2) ON CONFLICT (A, \"b\") DO NOTHING");
    CHECK(ins.on_conflict.action == OnConflict::Action::do_nothing);
    CHECK(ins.on_conflict.target_columns == std::vector<std::string>{"a", "b"});
    CHECK_FALSE(ins.on_conflict.target_unsupported);
}

TEST_CASE("OnConflictOnConstraintDoNothing", "[sql]") {
    const auto ins = only<InsertStatement>(
        "INSERT INTO t (a, b) VALUES (1, 2) ON CONFLICT ON CONSTRAINT uq_enroll DO NOTHING");
    CHECK(ins.on_conflict.action == OnConflict::Action::do_nothing);
    CHECK(ins.on_conflict.constraint == "uq_enroll");
    CHECK(ins.on_conflict.target_columns.empty());
}

TEST_CASE("OnConflictWithPartialIndexPredicate", "[sql]") {
    const auto ins = only<InsertStatement>(
        "INSERT INTO t (a) VALUES (1) ON CONFLICT (a) WHERE deleted IS NULL DO NOTHING");
    CHECK(ins.on_conflict.has_target_where);
    CHECK(ins.on_conflict.target_columns == std::vector<std::string>{"a"});
}

TEST_CASE("OnConflictExpressionTargetIsUnsupported", "[sql]") {
    const auto a =
        only<InsertStatement>("INSERT INTO t (a) VALUES ('x') ON CONFLICT (lower(a)) DO NOTHING");
    CHECK(a.on_conflict.target_unsupported);
    CHECK(a.on_conflict.target_note == "expression in the conflict target");
    const auto b = only<InsertStatement>(
        "INSERT INTO t (a) VALUES ('x') ON CONFLICT (a COLLATE \"C\") DO NOTHING");
    CHECK(b.on_conflict.target_unsupported);
    CHECK(b.on_conflict.target_columns == std::vector<std::string>{"a"});
}

TEST_CASE("OnConflictDoUpdateKeepsItsAssignments", "[sql]") {
    const std::string sql =
        "INSERT INTO t (a, b, c) VALUES (1, 2, 'x') ON CONFLICT (a) DO UPDATE SET c = "
        "EXCLUDED.c, b = 5 WHERE t.c <> 'y' RETURNING *";
    const auto ins = only<InsertStatement>(sql);
    const OnConflict& oc = ins.on_conflict;
    CHECK(oc.action == OnConflict::Action::do_update);
    CHECK(oc.target_columns == std::vector<std::string>{"a"});
    REQUIRE(oc.assignments.size() == 2);
    CHECK(oc.assignments[0].column == "c");
    CHECK(oc.assignments[0].value.kind == ValueKind::expression);
    CHECK(oc.assignments[0].value.note == "column reference");
    CHECK(oc.assignments[0].value.range == span_of(sql, "EXCLUDED.c"));
    CHECK(oc.assignments[1].column == "b");
    CHECK(oc.assignments[1].value.text == "5");
    CHECK(oc.assignments[1].value.range == SourceRange{at(sql, "5 WHERE"), 1});
    CHECK(oc.has_update_where);
    CHECK(ins.returning);
    CHECK(ins.returning_list == span_of(sql, "*"));
}

TEST_CASE("InsertSelectIsASelectSource", "[sql]") {
    const auto ins = only<InsertStatement>("INSERT INTO t (a, b) SELECT x, y FROM s");
    CHECK(ins.select_source);
    CHECK(ins.rows.empty());
    CHECK(ins.columns == std::vector<std::string>{"a", "b"});
}

TEST_CASE("ValuesWithOrderByOrLimitIsASelectSource", "[sql]") {
    CHECK(only<InsertStatement>("INSERT INTO t VALUES (1), (2) LIMIT 1").select_source);
    CHECK(only<InsertStatement>("INSERT INTO t VALUES (1) UNION VALUES (2)").select_source);
    CHECK(only<InsertStatement>("INSERT INTO t SELECT 1, 2").select_source);
}

TEST_CASE("ParenthesisedValuesAreStillRows", "[sql]") {
    const std::string sql = "INSERT INTO t (a) (VALUES (1), (2))";
    const auto ins = only<InsertStatement>(sql);
    CHECK_FALSE(ins.select_source);
    REQUIRE(ins.rows.size() == 2);
    CHECK(ins.rows[1][0].text == "2");
    CHECK(ins.rows[1][0].range == SourceRange{at(sql, "2"), 1});
}

TEST_CASE("WithInsertIsFlagged", "[sql]") {
    const auto ins = only<InsertStatement>(
        "WITH x AS (DELETE FROM t WHERE a = 1 RETURNING a) INSERT INTO t (a) VALUES (1)");
    CHECK(ins.has_with);
    CHECK(ins.rows.size() == 1);
    CHECK(ins.rows[0][0].text == "1");
}

TEST_CASE("DefaultValuesIsFlagged", "[sql]") {
    const auto ins = only<InsertStatement>("INSERT INTO t DEFAULT VALUES RETURNING id");
    CHECK(ins.default_values);
    CHECK(ins.rows.empty());
    CHECK(ins.returning);
}

TEST_CASE("OverridingIsRead", "[sql]") {
    const std::string sql = "INSERT INTO t (id, a) OVERRIDING SYSTEM VALUE VALUES (7, 'x')";
    const auto ins = only<InsertStatement>(sql);
    CHECK(ins.overriding == Overriding::system_value);
    CHECK(ins.rows[0][1].range == span_of(sql, "'x'"));
    CHECK(only<InsertStatement>("INSERT INTO t OVERRIDING USER VALUE VALUES (1)").overriding ==
          Overriding::user_value);
}

TEST_CASE("ExplainAnalyzeInsertIsTheInsert", "[sql]") {
    const Statement s =
        uniqguard::sql::test::single("EXPLAIN (ANALYZE, COSTS off) INSERT INTO t (a) VALUES (1)");
    CHECK(s.kind() == StatementKind::insert);
    CHECK(s.explain_analyze);
    const Statement plain = uniqguard::sql::test::single("EXPLAIN INSERT INTO t (a) VALUES (1)");
    CHECK(plain.kind() == StatementKind::other);
    CHECK(plain.get<OtherStatement>()->node == "explain_stmt");
    CHECK(uniqguard::sql::test::single("EXPLAIN (ANALYZE false) INSERT INTO t VALUES (1)").kind() ==
          StatementKind::other);
}
