// The MySQL parser beyond INSERT: UPDATE, DELETE, TRUNCATE, DROP TABLE, transactions, other
// statements, multi-statement strings with their ranges, errors, and random input.
#include <catch2/catch.hpp>
#include <random>
#include <string>

#include "sql/mysql_parser.hpp"
#include "sql_test_util.hpp"

using namespace uniqguard::sql;
using test::span_of;

namespace {

Statement mysql_single(std::string_view sql, const MySqlDialect& d = {}) {
    const ParseResult r = parse_mysql(sql, d);
    INFO(sql);
    INFO("error: " << (r.error ? r.error->message : std::string("none")));
    REQUIRE(r);
    REQUIRE(r.statements.size() == 1);
    return r.statements[0];
}

template <class T>
T mysql_body(std::string_view sql) {
    const Statement st = mysql_single(sql);
    INFO(sql);
    INFO("kind: " << to_string(st.kind()));
    const T* body = st.get<T>();
    REQUIRE(body != nullptr);
    return *body;
}

}  // namespace

TEST_CASE("MySqlUpdate", "[sql][mysql_parser]") {
    const std::string sql = "UPDATE `db`.users AS u SET u.email = 'a@b', name = ? WHERE id = 7";
    const auto up = mysql_body<UpdateStatement>(sql);
    CHECK(up.table == QualifiedName{"db", "users"});
    CHECK(up.alias == "u");
    CHECK_FALSE(up.has_from);
    CHECK_FALSE(up.ignore);
    REQUIRE(up.assignments.size() == 2);
    CHECK(up.assignments[0].column == "email");
    CHECK(up.assignments[0].target == span_of(sql, "u.email"));
    CHECK(up.assignments[0].value.kind == ValueKind::literal_string);
    CHECK(up.assignments[0].value.text == "a@b");
    CHECK(up.assignments[0].value.range == span_of(sql, "'a@b'"));
    CHECK(up.assignments[1].column == "name");
    CHECK(up.assignments[1].value.kind == ValueKind::parameter);
    CHECK(up.assignments[1].value.parameter == 1);
    CHECK(up.has_where);
    CHECK(up.where == span_of(sql, "id = 7"));
}

TEST_CASE("MySqlUpdateForms", "[sql][mysql_parser]") {
    const std::string sql =
        "UPDATE LOW_PRIORITY IGNORE t SET a = a + 1 WHERE b IN (1, 2) ORDER BY c LIMIT 1";
    const auto up = mysql_body<UpdateStatement>(sql);
    CHECK(up.ignore);
    CHECK(up.alias.empty());
    REQUIRE(up.assignments.size() == 1);
    CHECK(up.assignments[0].value.note == "operator expression");
    CHECK(up.where == span_of(sql, "b IN (1, 2)"));
    CHECK(up.order_or_limit);
    const auto no_where =
        mysql_body<UpdateStatement>("UPDATE t u FORCE INDEX (i) SET a = 1 LIMIT 2");
    CHECK(no_where.order_or_limit);
    CHECK_FALSE(mysql_body<UpdateStatement>("UPDATE t SET a = 1 WHERE b = 'limit'").order_or_limit);
    CHECK_FALSE(mysql_body<UpdateStatement>("UPDATE t SET a = (SELECT 1 LIMIT 1)").order_or_limit);
    CHECK(no_where.alias == "u");
    CHECK_FALSE(no_where.has_where);
    CHECK_FALSE(no_where.where.known());
    const auto multi = mysql_body<UpdateStatement>(
        "UPDATE t1 JOIN t2 ON t1.id = t2.id SET t1.a = t2.b WHERE t2.c = 1");
    CHECK(multi.has_from);
    CHECK(multi.table.name == "t1");
    CHECK(multi.assignments.at(0).column == "a");
    CHECK(mysql_body<UpdateStatement>("UPDATE t1, t2 SET t1.a = 1").has_from);
    CHECK(mysql_body<OtherStatement>("UPDATE t WHERE a = 1").unsupported == "no SET");
}

TEST_CASE("MySqlDelete", "[sql][mysql_parser]") {
    const std::string sql = "DELETE QUICK FROM db.t WHERE id = 1 ORDER BY id LIMIT 1";
    const auto del = mysql_body<DeleteStatement>(sql);
    CHECK(del.table == QualifiedName{"db", "t"});
    CHECK(del.has_where);
    CHECK(del.where == span_of(sql, "id = 1"));
    CHECK_FALSE(del.has_using);
    const std::string ret = "DELETE FROM t RETURNING id";
    CHECK(mysql_body<DeleteStatement>(ret).returning_list == span_of(ret, "id"));
    const auto multi = mysql_body<DeleteStatement>("DELETE t1 FROM t1 JOIN t2 ON t1.a = t2.a");
    CHECK(multi.has_using);
    CHECK(multi.table.name == "t1");
    CHECK(mysql_body<DeleteStatement>("DELETE FROM t1 USING t1, t2 WHERE t1.a = t2.a").has_using);
}

TEST_CASE("MySqlTruncateDropAndTransactions", "[sql][mysql_parser]") {
    CHECK(mysql_body<TruncateStatement>("TRUNCATE TABLE db.t").tables ==
          std::vector<QualifiedName>{{"db", "t"}});
    CHECK(mysql_body<TruncateStatement>("truncate t").tables.size() == 1);
    const auto drop =
        mysql_body<DropTableStatement>("DROP TEMPORARY TABLE IF EXISTS a, b.c CASCADE");
    CHECK(drop.if_exists);
    CHECK(drop.cascade);
    CHECK(drop.tables == std::vector<QualifiedName>{{"", "a"}, {"b", "c"}});
    CHECK(mysql_body<OtherStatement>("DROP INDEX i ON t").node == "drop_stmt");

    using Kind = TransactionStatement::Kind;
    CHECK(mysql_body<TransactionStatement>("BEGIN").kind == Kind::begin);
    CHECK(mysql_body<TransactionStatement>("begin work").kind == Kind::begin);
    CHECK(mysql_body<OtherStatement>("BEGIN NOT ATOMIC SELECT 1 END").node == "begin_stmt");
    const auto start = mysql_body<TransactionStatement>("START TRANSACTION READ ONLY");
    CHECK(start.kind == Kind::start);
    CHECK(start.options ==
          std::vector<std::pair<std::string, std::string>>{{"transaction_read_only", "1"}});
    CHECK(mysql_body<TransactionStatement>("COMMIT WORK AND CHAIN").chain);
    CHECK_FALSE(mysql_body<TransactionStatement>("COMMIT AND NO CHAIN").chain);
    CHECK(mysql_body<TransactionStatement>("ROLLBACK").kind == Kind::rollback);
    const auto to = mysql_body<TransactionStatement>("ROLLBACK WORK TO SAVEPOINT `s 1`");
    CHECK(to.kind == Kind::rollback_to);
    CHECK(to.savepoint == "s 1");
    CHECK(mysql_body<TransactionStatement>("ROLLBACK TO s").savepoint == "s");
    CHECK(mysql_body<TransactionStatement>("SAVEPOINT s").kind == Kind::savepoint);
    CHECK(mysql_body<TransactionStatement>("RELEASE SAVEPOINT s").kind == Kind::release);
}

TEST_CASE("MySqlOtherStatements", "[sql][mysql_parser]") {
    CHECK(mysql_body<OtherStatement>("SELECT 1").node == "select_stmt");
    CHECK(mysql_body<OtherStatement>("(SELECT 1)").node == "select_stmt");
    CHECK(mysql_body<OtherStatement>("load data local infile 'x' into table t").node ==
          "load_stmt");
    CHECK(mysql_body<OtherStatement>("CALL p(1)").node == "call_stmt");
    CHECK(mysql_body<OtherStatement>("WITH x AS (SELECT 1) SELECT * FROM x").unsupported.empty());
    const auto w = mysql_body<OtherStatement>("WITH x AS (SELECT 1) UPDATE t, x SET t.a = 1");
    CHECK(w.node == "update_stmt");
    CHECK_FALSE(w.unsupported.empty());
    // MariaDB's ANALYZE runs the statement.
    const Statement an = mysql_single("ANALYZE FORMAT=JSON UPDATE t SET a = 1");
    CHECK(an.explain_analyze);
    CHECK(an.kind() == StatementKind::update);
    CHECK(mysql_single("EXPLAIN UPDATE t SET a = 1").kind() == StatementKind::other);
}

TEST_CASE("MySqlMultiStatementRanges", "[sql][mysql_parser]") {
    const std::string sql =
        "INSERT INTO t VALUES (?);  -- one\n UPDATE t SET a = ? ;;/* c */ SELECT ';' ; # end";
    const ParseResult r = parse_mysql(sql);
    REQUIRE(r);
    REQUIRE(r.statements.size() == 3);
    const std::size_t s1 = sql.find(';');
    CHECK(r.statements[0].range == SourceRange{0, s1});
    CHECK(r.statements[0].trimmed == SourceRange{0, s1});
    const std::size_t s2 = sql.find(';', s1 + 1);
    CHECK(r.statements[1].range == SourceRange{s1 + 1, s2 - s1 - 1});
    CHECK(r.statements[1].trimmed == span_of(sql, "UPDATE t SET a = ?"));
    const std::size_t s3 = test::at(sql, "/* c */") - 1;  // the second `;` of `;;`
    const std::size_t s4 = test::at(sql, " ; # end") + 1;
    CHECK(r.statements[2].range == SourceRange{s3 + 1, s4 - s3 - 1});
    CHECK(r.statements[2].trimmed == span_of(sql, "SELECT ';'"));
    // `?` are numbered across the whole string.
    CHECK(r.statements[0].get<InsertStatement>()->rows.at(0).at(0).parameter == 1);
    CHECK(r.statements[1].get<UpdateStatement>()->assignments.at(0).value.parameter == 2);

    CHECK(parse_mysql("").statements.empty());
    CHECK(parse_mysql(" ; -- x\n;").statements.empty());
    CHECK(parse_mysql("SELECT 1;").statements.size() == 1);
}

TEST_CASE("MySqlExecutableCommentStatements", "[sql][mysql_parser]") {
    // mysqldump writes whole statements inside versioned comments.
    const std::string sql =
        "/*!40101 SET NAMES utf8mb4 */;\n/*!99999 INSERT INTO t VALUES (1) */;\n"
        "/*M!100100 INSERT INTO t VALUES (2) */";
    const ParseResult r = parse_mysql(sql);
    REQUIRE(r);
    REQUIRE(r.statements.size() == 2);
    CHECK(r.statements[0].kind() == StatementKind::set);
    CHECK(r.statements[0].trimmed == span_of(sql, "SET NAMES utf8mb4"));
    REQUIRE(r.statements[1].kind() == StatementKind::insert);
    CHECK(r.statements[1].get<InsertStatement>()->rows.at(0).at(0).text == "2");
    MySqlDialect old;
    old.server_version = 100000;
    const ParseResult o = parse_mysql(sql, old);
    REQUIRE(o);
    CHECK(o.statements.size() == 1);
}

TEST_CASE("MySqlParseErrors", "[sql][mysql_parser]") {
    const std::string sql = "INSERT INTO t VALUES (1); INSERT INTO t VALUES ('oops)";
    const ParseResult r = parse_mysql(sql);
    REQUIRE_FALSE(r);
    CHECK(r.statements.empty());
    CHECK(r.error->message == "unterminated string literal");
    CHECK(r.error->offset == test::at(sql, "'oops"));
    CHECK(r.error->cursor == 0);
    CHECK(parse_mysql("SELECT 1 /* open").error->message == "unterminated comment");
    CHECK(parse_mysql("SELECT `x").error->message == "unterminated quoted identifier");
    CHECK(parse_mysql("SELECT X'123'").error->message ==
          "hex literal with an odd number of digits");
    MySqlDialect nb;
    nb.no_backslash_escapes = true;
    CHECK(parse_mysql("SELECT 'a\\'", nb));
    CHECK_FALSE(parse_mysql("SELECT 'a\\'"));
}

TEST_CASE("MySqlParserSurvivesRandomInput", "[sql][mysql_parser]") {
    // Bytes drawn from SQL's alphabet: every parse either succeeds with ranges inside the
    // string or reports an error inside it.
    const std::string alphabet = "'\"`\\/*!#-;(),.=?@_xXbBnN01 9aeE\n\tMINSERTVALUESupdatesetON";
    std::mt19937 rng(20261126);
    const std::vector<std::string> seeds = {
        "INSERT INTO t (a) VALUES (", "UPDATE t SET a = ", "REPLACE t SET a=", "INSERT t VALUE ("};
    for (int n = 0; n < 3000; ++n) {
        std::string sql = seeds[rng() % seeds.size()];
        const std::size_t len = rng() % 40;
        for (std::size_t k = 0; k < len; ++k) sql.push_back(alphabet[rng() % alphabet.size()]);
        const ParseResult r = parse_mysql(sql);
        if (!r) {
            CHECK(r.error->offset < sql.size());
            continue;
        }
        for (const Statement& st : r.statements) {
            CHECK(st.range.end() <= sql.size());
            CHECK(st.trimmed.end() <= sql.size());
        }
    }
}

TEST_CASE("MySqlSet", "[sql][mysql_parser]") {
    const auto mode =
        mysql_body<SetStatement>("SET SESSION sql_mode = 'ANSI_QUOTES,NO_BACKSLASH_ESCAPES'");
    CHECK(mode.kind == SetStatement::Kind::set_value);
    CHECK(mode.name == "sql_mode");
    CHECK(mode.value == "ANSI_QUOTES,NO_BACKSLASH_ESCAPES");
    REQUIRE(mode.values.size() == 1);
    CHECK(mode.values[0].kind == ValueKind::literal_string);
    CHECK(mysql_body<SetStatement>("set @@session.SQL_MODE := ''").name == "sql_mode");
    CHECK(mysql_body<SetStatement>("SET @@sql_mode = ANSI").value == "ANSI");
    CHECK(mysql_body<SetStatement>("SET autocommit = 0").value == "0");
    CHECK(mysql_body<SetStatement>("SET sql_mode = DEFAULT").kind ==
          SetStatement::Kind::set_default);
    const auto expr = mysql_body<SetStatement>("SET sql_mode = CONCAT(@@sql_mode, ',ANSI')");
    CHECK(expr.value.empty());
    CHECK(expr.values.at(0).kind == ValueKind::expression);
    const auto names = mysql_body<SetStatement>("SET NAMES utf8mb4 COLLATE utf8mb4_bin");
    CHECK(names.name == "names");
    CHECK(names.value == "utf8mb4");
    CHECK(mysql_body<SetStatement>("SET NAMES 'latin1'").value == "latin1");
    // Not this session's settings, or not one variable.
    CHECK(mysql_body<OtherStatement>("SET GLOBAL sql_mode = ''").unsupported.empty());
    CHECK(mysql_body<OtherStatement>("SET @@global.sql_mode = ''").unsupported.empty());
    CHECK(mysql_body<OtherStatement>("SET @a = 1").unsupported.empty());
    CHECK(mysql_body<OtherStatement>("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE").node ==
          "set_stmt");
    CHECK(mysql_body<OtherStatement>("SET a = 1, sql_mode = ''").unsupported ==
          "a SET of several variables");
}

TEST_CASE("MySqlSetStatementForRunsTheStatement", "[sql][mysql_parser]") {
    const std::string sql = "SET STATEMENT max_statement_time = 1 FOR INSERT INTO t VALUES (?)";
    const auto ins = mysql_body<InsertStatement>(sql);
    CHECK(ins.table.name == "t");
    CHECK(ins.rows.at(0).at(0).parameter == 1);
    CHECK(mysql_single("SET STATEMENT sql_mode = '' FOR UPDATE t SET a = 1").kind() ==
          StatementKind::update);
    CHECK(mysql_body<OtherStatement>("SET STATEMENT x = 1").unsupported ==
          "SET STATEMENT without FOR");
}
