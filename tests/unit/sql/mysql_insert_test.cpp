// The MySQL parser on INSERT and REPLACE: every form the guard reads, exact fields and exact
// source ranges.
#include <catch2/catch.hpp>
#include <string>

#include "sql/mysql_parser.hpp"
#include "sql_test_util.hpp"

using namespace uniqguard::sql;
using test::span_of;

namespace {

template <class T>
T mysql_only(std::string_view sql, const MySqlDialect& d = {}) {
    const ParseResult r = parse_mysql(sql, d);
    INFO(sql);
    INFO("error: " << (r.error ? r.error->message : std::string("none")));
    REQUIRE(r);
    REQUIRE(r.statements.size() == 1);
    INFO("kind: " << to_string(r.statements[0].kind()));
    if (const auto* o = r.statements[0].get<OtherStatement>())
        INFO("unsupported: " << o->unsupported);
    const T* body = r.statements[0].get<T>();
    REQUIRE(body != nullptr);
    return *body;
}

std::string unsupported_reason(std::string_view sql) {
    const auto o = mysql_only<OtherStatement>(sql);
    CHECK_FALSE(o.unsupported.empty());
    return o.unsupported;
}

}  // namespace

TEST_CASE("MySqlInsertValuesRows", "[sql][mysql_parser]") {
    const std::string sql = "INSERT INTO `shop`.orders (id, `Note`) VALUES (1, 'a'), (-2, NULL)";
    const auto ins = mysql_only<InsertStatement>(sql);
    CHECK(ins.table == QualifiedName{"shop", "orders"});
    CHECK(ins.columns == std::vector<std::string>{"id", "Note"});
    CHECK_FALSE(ins.replace);
    CHECK_FALSE(ins.ignore);
    CHECK_FALSE(ins.select_source);
    CHECK(ins.on_conflict.action == OnConflict::Action::none);
    REQUIRE(ins.rows.size() == 2);
    REQUIRE(ins.rows[0].size() == 2);
    CHECK(ins.rows[0][0].kind == ValueKind::literal_number);
    CHECK(ins.rows[0][0].text == "1");
    CHECK(ins.rows[0][0].range == SourceRange{test::at(sql, "1,"), 1});
    CHECK(ins.rows[0][1].kind == ValueKind::literal_string);
    CHECK(ins.rows[0][1].text == "a");
    CHECK(ins.rows[0][1].literal == span_of(sql, "'a'"));
    CHECK(ins.rows[0][1].form == LiteralForm::quoted);
    CHECK(ins.rows[0][1].charset_introducer.empty());
    CHECK(ins.rows[1][0].kind == ValueKind::literal_number);
    CHECK(ins.rows[1][0].text == "-2");
    CHECK(ins.rows[1][0].literal == span_of(sql, "-2"));
    CHECK(ins.rows[1][1].kind == ValueKind::null);
    CHECK(ins.rows[1][1].literal == span_of(sql, "NULL"));
}

TEST_CASE("MySqlInsertNamesKeptAsWritten", "[sql][mysql_parser]") {
    // The server may fold table names (lower_case_table_names); the parser does not guess.
    const auto ins = mysql_only<InsertStatement>("insert Orders (ID) value (1)");
    CHECK(ins.table == QualifiedName{"", "Orders"});
    CHECK(ins.columns == std::vector<std::string>{"ID"});
    CHECK(ins.rows.size() == 1);
    const auto q = mysql_only<InsertStatement>("INSERT INTO `we``ird`.`t 1` (`a``b`) VALUES (1)");
    CHECK(q.table == QualifiedName{"we`ird", "t 1"});
    CHECK(q.columns == std::vector<std::string>{"a`b"});
    const auto a = mysql_only<InsertStatement>("INSERT INTO \"t\" (\"c\") VALUES (1)",
                                               MySqlDialect{.ansi_quotes = true});
    CHECK(a.table.name == "t");
    CHECK(a.columns == std::vector<std::string>{"c"});
    // Qualified column names keep their last part.
    CHECK(mysql_only<InsertStatement>("INSERT INTO t (t.a, db.t.b) VALUES (1, 2)").columns ==
          std::vector<std::string>{"a", "b"});
}

TEST_CASE("MySqlInsertValueKinds", "[sql][mysql_parser]") {
    const std::string sql =
        "INSERT INTO t VALUES (?, DEFAULT, TRUE, false, \\N, 1.50, 1e3, - -5, +7, now(), c, "
        "(SELECT 1), @v, 1 + 1, ?, VALUES(a), CAST('1' AS SIGNED), DATE '2024-01-02', (1))";
    const auto ins = mysql_only<InsertStatement>(sql);
    REQUIRE(ins.rows.size() == 1);
    const auto& r = ins.rows[0];
    REQUIRE(r.size() == 19);
    CHECK(r[0].kind == ValueKind::parameter);
    CHECK(r[0].parameter == 1);
    CHECK(r[0].literal == span_of(sql, "?"));
    CHECK(r[1].kind == ValueKind::default_);
    CHECK(r[1].literal == span_of(sql, "DEFAULT"));
    CHECK(r[2].kind == ValueKind::literal_bool);
    CHECK(r[2].text == "true");
    CHECK(r[3].kind == ValueKind::literal_bool);
    CHECK(r[3].text == "false");
    CHECK(r[4].kind == ValueKind::null);
    CHECK(r[5].kind == ValueKind::literal_number);
    CHECK(r[5].text == "1.50");
    CHECK(r[6].text == "1e3");
    CHECK(r[7].kind == ValueKind::literal_number);
    CHECK(r[7].text == "5");
    CHECK(r[7].literal == span_of(sql, "- -5"));
    CHECK(r[8].text == "7");
    const char* notes[] = {"function call", "column reference", "subquery", "variable",
                           "operator expression"};
    for (std::size_t k = 0; k < 5; ++k) {
        INFO(k);
        CHECK(r[9 + k].kind == ValueKind::expression);
        CHECK(r[9 + k].volatile_or_unknown);
        CHECK(r[9 + k].note == notes[k]);
        CHECK(r[9 + k].literal == r[9 + k].range);
    }
    CHECK(r[9].range == span_of(sql, "now()"));
    CHECK(r[13].range == span_of(sql, "1 + 1"));
    CHECK(r[14].kind == ValueKind::parameter);
    CHECK(r[14].parameter == 2);
    CHECK(r[15].note == "VALUES() reference");
    CHECK(r[16].note == "cast");
    CHECK(r[17].note == "typed literal");
    CHECK(r[18].note == "parenthesized expression");
    const auto nested = mysql_only<InsertStatement>("INSERT INTO t VALUES (((SELECT 1)), ((1)))");
    CHECK(nested.rows.at(0).at(0).note == "subquery");
    CHECK(nested.rows.at(0).at(1).note == "parenthesized expression");
}

TEST_CASE("MySqlInsertEmptyStringIsNull", "[sql][mysql_parser]") {
    // sql_mode EMPTY_STRING_IS_NULL: the server reads every empty string literal as NULL
    // (introducer or not, joined or not); hex and bit literals stay strings; only the empty.
    MySqlDialect d;
    apply_sql_mode(d, "STRICT_TRANS_TABLES,empty_string_is_null");
    CHECK(d.empty_string_is_null);
    const std::string sql = "INSERT INTO t VALUES ('', N'', _utf8mb4'', '' \"\", X'', ' ', 'a' '')";
    const auto ins = mysql_only<InsertStatement>(sql, d);
    const auto& r = ins.rows.at(0);
    REQUIRE(r.size() == 7);
    for (std::size_t i = 0; i < 4; ++i) CHECK(r[i].kind == ValueKind::null);
    CHECK(r[2].charset_introducer.empty());
    CHECK(r[3].literal == span_of(sql, "'' \"\""));
    CHECK(r[4].kind == ValueKind::literal_string);
    CHECK(r[4].form == LiteralForm::hex);
    CHECK(r[5].kind == ValueKind::literal_string);
    CHECK(r[5].text == " ");
    CHECK(r[6].text == "a");
    // Without the mode '' is the empty string; a later SET without it clears the flag.
    CHECK(mysql_only<InsertStatement>("INSERT INTO t VALUES ('')").rows.at(0).at(0).kind ==
          ValueKind::literal_string);
    apply_sql_mode(d, "STRICT_TRANS_TABLES");
    CHECK_FALSE(d.empty_string_is_null);
}

TEST_CASE("MySqlInsertStringForms", "[sql][mysql_parser]") {
    const std::string sql =
        "INSERT INTO t VALUES ('it''s', \"dq\\\"\", _utf8mb4'é' 'x', _binary X'00ff', N'n', "
        "X'41', 0x123, b'101', 0b1, 'a' /* c */ \"b\", _latin1 0x41)";
    const auto ins = mysql_only<InsertStatement>(sql);
    const auto& r = ins.rows.at(0);
    REQUIRE(r.size() == 11);
    for (const Value& v : r) CHECK(v.kind == ValueKind::literal_string);
    CHECK(r[0].text == "it's");
    CHECK(r[1].text == "dq\"");
    CHECK(r[2].text == "éx");
    CHECK(r[2].charset_introducer == "utf8mb4");
    CHECK(r[2].literal == span_of(sql, "_utf8mb4'é' 'x'"));
    CHECK(r[3].text == std::string("\0\xff", 2));
    CHECK(r[3].charset_introducer == "binary");
    CHECK(r[3].form == LiteralForm::hex);
    CHECK(r[4].text == "n");
    CHECK(r[4].charset_introducer == "utf8mb3");
    CHECK(r[4].literal == span_of(sql, "N'n'"));
    CHECK(r[5].text == "A");
    CHECK(r[5].form == LiteralForm::hex);
    CHECK(r[6].text == std::string("\x01\x23", 2));
    CHECK(r[6].form == LiteralForm::hex);
    CHECK(r[6].literal == span_of(sql, "0x123"));
    CHECK(r[7].text == "\x05");
    CHECK(r[7].form == LiteralForm::bit);
    CHECK(r[8].text == "\x01");
    CHECK(r[8].form == LiteralForm::bit);
    CHECK(r[9].text == "ab");
    CHECK(r[9].literal == span_of(sql, "'a' /* c */ \"b\""));
    CHECK(r[10].charset_introducer == "latin1");
    CHECK(r[10].text == "A");
    // What the server refuses to join is not a literal: 'a' N'b', 'a' X'41'.
    const auto bad = mysql_only<InsertStatement>("INSERT INTO t VALUES ('a' N'b', 'a' X'41')");
    CHECK(bad.rows.at(0).at(0).kind == ValueKind::expression);
    CHECK(bad.rows.at(0).at(1).kind == ValueKind::expression);
}

TEST_CASE("MySqlInsertStringsFollowSqlMode", "[sql][mysql_parser]") {
    const std::string sql = "INSERT INTO t VALUES ('a\\nb', \"c\")";
    const auto plain = mysql_only<InsertStatement>(sql);
    CHECK(plain.rows.at(0).at(0).text == "a\nb");
    CHECK(plain.rows.at(0).at(1).kind == ValueKind::literal_string);
    MySqlDialect d;
    apply_sql_mode(d, "NO_BACKSLASH_ESCAPES,ANSI_QUOTES");
    const auto moded = mysql_only<InsertStatement>(sql, d);
    CHECK(moded.rows.at(0).at(0).text == "a\\nb");
    CHECK(moded.rows.at(0).at(1).kind == ValueKind::expression);  // "c" is a column
    CHECK(moded.rows.at(0).at(1).note == "column reference");
}

TEST_CASE("MySqlInsertIgnoreReplaceAndModifiers", "[sql][mysql_parser]") {
    const auto ig = mysql_only<InsertStatement>("INSERT LOW_PRIORITY IGNORE INTO t VALUES (1)");
    CHECK(ig.ignore);
    CHECK_FALSE(ig.replace);
    const auto rep = mysql_only<InsertStatement>("REPLACE DELAYED INTO t (a) VALUES (1)");
    CHECK(rep.replace);
    CHECK_FALSE(rep.ignore);
    CHECK(rep.table.name == "t");
    CHECK(mysql_only<InsertStatement>("replace t values (1)").replace);
    const auto part =
        mysql_only<InsertStatement>("INSERT INTO t PARTITION (p0, p1) (a) VALUES (1)");
    CHECK(part.columns == std::vector<std::string>{"a"});
    // The executable comment is SQL: the IGNORE counts.
    CHECK(mysql_only<InsertStatement>("INSERT /*! IGNORE */ INTO t VALUES (1)").ignore);
    CHECK_FALSE(mysql_only<InsertStatement>("INSERT /*!99999 IGNORE */ INTO t VALUES (1)").ignore);
}

TEST_CASE("MySqlInsertSet", "[sql][mysql_parser]") {
    const std::string sql = "INSERT INTO t SET a = 1, `b` = 'x', c = DEFAULT";
    const auto ins = mysql_only<InsertStatement>(sql);
    CHECK(ins.columns == std::vector<std::string>{"a", "b", "c"});
    REQUIRE(ins.rows.size() == 1);
    REQUIRE(ins.rows[0].size() == 3);
    CHECK(ins.rows[0][0].text == "1");
    CHECK(ins.rows[0][1].text == "x");
    CHECK(ins.rows[0][1].range == span_of(sql, "'x'"));
    CHECK(ins.rows[0][2].kind == ValueKind::default_);
}

TEST_CASE("MySqlInsertOnDuplicateKeyUpdate", "[sql][mysql_parser]") {
    const std::string sql =
        "INSERT INTO t (a, b) VALUES (1, 2) ON DUPLICATE KEY UPDATE b = VALUES(b), t.c = 3";
    const auto ins = mysql_only<InsertStatement>(sql);
    CHECK(ins.rows.size() == 1);
    CHECK(ins.on_conflict.action == OnConflict::Action::on_duplicate_key_update);
    REQUIRE(ins.on_conflict.assignments.size() == 2);
    CHECK(ins.on_conflict.assignments[0].column == "b");
    CHECK(ins.on_conflict.assignments[0].target == SourceRange{test::at(sql, "b = VALUES"), 1});
    CHECK(ins.on_conflict.assignments[0].value.note == "VALUES() reference");
    CHECK(ins.on_conflict.assignments[1].column == "c");
    CHECK(ins.on_conflict.assignments[1].target == span_of(sql, "t.c"));
    CHECK(ins.on_conflict.assignments[1].value.text == "3");

    const auto set =
        mysql_only<InsertStatement>("INSERT INTO t SET a = 1 ON DUPLICATE KEY UPDATE a = a + 1");
    CHECK(set.columns == std::vector<std::string>{"a"});
    CHECK(set.on_conflict.assignments.size() == 1);
    // MySQL 8's row alias.
    const auto alias = mysql_only<InsertStatement>(
        "INSERT INTO t (a) VALUES (1) AS new ON DUPLICATE KEY UPDATE a = new.a");
    CHECK(alias.on_conflict.assignments.at(0).value.note == "column reference");
}

TEST_CASE("MySqlInsertSelectSource", "[sql][mysql_parser]") {
    const auto sel = mysql_only<InsertStatement>("INSERT INTO t (a) SELECT a FROM u WHERE b = 1");
    CHECK(sel.select_source);
    CHECK(sel.rows.empty());
    CHECK(sel.columns == std::vector<std::string>{"a"});
    CHECK(mysql_only<InsertStatement>("INSERT INTO t (SELECT * FROM u)").select_source);
    CHECK(mysql_only<InsertStatement>("INSERT INTO t TABLE u").select_source);
    const auto with =
        mysql_only<InsertStatement>("INSERT INTO t WITH x AS (SELECT 1) SELECT * FROM x");
    CHECK(with.select_source);
    CHECK(with.has_with);
    const auto dup = mysql_only<InsertStatement>(
        "INSERT INTO t SELECT * FROM u JOIN v ON u.a = v.a ON DUPLICATE KEY UPDATE b = 1");
    CHECK(dup.select_source);
    CHECK(dup.on_conflict.action == OnConflict::Action::on_duplicate_key_update);
    CHECK(dup.on_conflict.assignments.size() == 1);
}

TEST_CASE("MySqlInsertEmptyRowsAndReturning", "[sql][mysql_parser]") {
    const auto empty = mysql_only<InsertStatement>("INSERT INTO t () VALUES (), ()");
    CHECK(empty.columns.empty());
    REQUIRE(empty.rows.size() == 2);
    CHECK(empty.rows[0].empty());
    const std::string sql = "INSERT INTO t (a) VALUES (1) RETURNING id, a";
    const auto ret = mysql_only<InsertStatement>(sql);
    CHECK(ret.returning);
    CHECK(ret.returning_list == span_of(sql, "id, a"));
    CHECK(mysql_only<InsertStatement>("INSERT INTO t VALUES ROW(1, 2), ROW(3, 4)").rows.size() ==
          2);
}

TEST_CASE("MySqlInsertRowRangesCoverEachRowAsWritten", "[sql][mysql_parser]") {
    // Each VALUES row from its parenthesis (or ROW) to its closing one, comments between rows
    // outside; the SET form's one row is its assignments.
    std::string sql = "INSERT IGNORE INTO t (a, b) VALUES (1, '(x)') /* c */ ,(2,(3)), () ;";
    auto ins = mysql_only<InsertStatement>(sql);
    REQUIRE(ins.row_ranges.size() == 3);
    CHECK(ins.row_ranges[0] == span_of(sql, "(1, '(x)')"));
    CHECK(ins.row_ranges[1] == span_of(sql, "(2,(3))"));
    CHECK(ins.row_ranges[2] == span_of(sql, "()"));
    sql = "INSERT INTO t VALUE ROW(1, 2),ROW (3, 4) RETURNING a";
    ins = mysql_only<InsertStatement>(sql);
    REQUIRE(ins.row_ranges.size() == 2);
    CHECK(ins.row_ranges[0] == span_of(sql, "ROW(1, 2)"));
    CHECK(ins.row_ranges[1] == span_of(sql, "ROW (3, 4)"));
    sql = "INSERT t SET a = 1, b = 'x' RETURNING id";
    ins = mysql_only<InsertStatement>(sql);
    REQUIRE(ins.row_ranges.size() == 1);
    CHECK(ins.row_ranges[0] == span_of(sql, "a = 1, b = 'x'"));
    CHECK(mysql_only<InsertStatement>("INSERT INTO t SELECT 1").row_ranges.empty());
}

TEST_CASE("MySqlInsertRefusedWhenNotUnderstood", "[sql][mysql_parser]") {
    CHECK(unsupported_reason("INSERT INTO t VALUES 1") ==
          "a VALUES row that is not a parenthesised list");
    CHECK(unsupported_reason("INSERT INTO") == "no table name");
    CHECK(unsupported_reason("INSERT INTO t") == "no VALUES, SET or SELECT");
    CHECK(unsupported_reason("INSERT INTO t (a) VALUES (1) garbage") ==
          "unexpected text after the inserted rows");
    CHECK(unsupported_reason("INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING") ==
          "ON not followed by DUPLICATE KEY UPDATE");
    CHECK(unsupported_reason("INSERT INTO t (a + 1) VALUES (1)") ==
          "a column list item that is not a name");
    CHECK(unsupported_reason("INSERT INTO t SET a") ==
          "an assignment that is not `column = value`");
    const auto o = mysql_only<OtherStatement>("REPLACE INTO t VALUES 1");
    CHECK(o.node == "replace_stmt");
}
