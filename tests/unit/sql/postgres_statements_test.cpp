// UPDATE, DELETE, TRUNCATE, DDL, COPY, MERGE, transaction control, SET, multi-statement strings
// and syntax errors through the PostgreSQL adapter.
#include <catch2/catch.hpp>

#include "sql_test_util.hpp"

using namespace uniqguard::sql;
using uniqguard::sql::test::at;
using uniqguard::sql::test::only;
using uniqguard::sql::test::single;
using uniqguard::sql::test::span_of;

TEST_CASE("DjangoSaveUpdateReadsEverySetAndTheWhere", "[sql]") {
    const std::string sql =
        R"(UPDATE "courses_enroll" SET "user_id" = 2, "course_id" = 1 WHERE "courses_enroll"."id" = 5)";
    const auto up = only<UpdateStatement>(sql);
    CHECK(up.table == QualifiedName{"", "courses_enroll"});
    REQUIRE(up.assignments.size() == 2);
    CHECK(up.assignments[0].column == "user_id");
    CHECK(up.assignments[0].target == span_of(sql, R"("user_id")"));
    CHECK(up.assignments[0].value.kind == ValueKind::literal_number);
    CHECK(up.assignments[0].value.text == "2");
    CHECK(up.assignments[0].value.range == SourceRange{at(sql, "2,"), 1});
    CHECK(up.assignments[1].column == "course_id");
    CHECK(up.assignments[1].value.text == "1");
    CHECK(up.assignments[1].value.range == SourceRange{at(sql, "1 WHERE"), 1});
    CHECK(up.has_where);
    CHECK_FALSE(up.where_current_of);
    CHECK(up.where == span_of(sql, R"("courses_enroll"."id" = 5)"));
    CHECK_FALSE(up.has_from);
    CHECK_FALSE(up.has_with);
    CHECK_FALSE(up.returning);
    CHECK_FALSE(up.only);
}

TEST_CASE("UpdateSetOfParamsExpressionsAndDefault", "[sql]") {
    const std::string sql =
        "UPDATE ONLY s.t AS x SET a = $1, b = b + 1, c = DEFAULT, d = 'q'::text, e = x IS "
        "DISTINCT FROM y, f[2] = 3 FROM u WHERE x.id = u.id RETURNING x.id";
    const auto up = only<UpdateStatement>(sql);
    CHECK(up.table == QualifiedName{"s", "t"});
    CHECK(up.alias == "x");
    CHECK(up.only);
    REQUIRE(up.assignments.size() == 6);
    CHECK(up.assignments[0].value.kind == ValueKind::parameter);
    CHECK(up.assignments[0].value.parameter == 1);
    CHECK(up.assignments[1].value.kind == ValueKind::expression);
    CHECK(up.assignments[1].value.range == span_of(sql, "b + 1"));
    CHECK(up.assignments[2].value.kind == ValueKind::default_);
    CHECK(up.assignments[3].value.kind == ValueKind::literal_string);
    CHECK(up.assignments[3].value.range == span_of(sql, "'q'::text"));
    CHECK(up.assignments[4].value.range == span_of(sql, "x IS DISTINCT FROM y"));
    CHECK(up.assignments[5].column == "f");
    CHECK(up.assignments[5].indirection);
    CHECK(up.assignments[5].value.range == SourceRange{at(sql, "3 FROM"), 1});
    CHECK(up.has_from);
    CHECK(up.where == span_of(sql, "x.id = u.id"));
    CHECK(up.returning);
    CHECK(up.returning_list == span_of(sql, "x.id", at(sql, "RETURNING")));
}

TEST_CASE("MultiColumnSetOfARowIsExpanded", "[sql]") {
    const std::string sql = "UPDATE t SET (a, b) = (1, 'x'), c = 3, (d, e) = ROW($1, now())";
    const auto up = only<UpdateStatement>(sql);
    REQUIRE(up.assignments.size() == 5);
    CHECK(up.assignments[0].column == "a");
    CHECK(up.assignments[0].value.text == "1");
    CHECK(up.assignments[0].value.range == SourceRange{at(sql, "1, 'x'"), 1});
    CHECK(up.assignments[1].column == "b");
    CHECK(up.assignments[1].value.text == "x");
    CHECK(up.assignments[1].value.range == span_of(sql, "'x'"));
    CHECK(up.assignments[2].column == "c");
    CHECK(up.assignments[2].value.text == "3");
    CHECK(up.assignments[3].column == "d");
    CHECK(up.assignments[3].value.kind == ValueKind::parameter);
    CHECK(up.assignments[3].value.range == span_of(sql, "$1"));
    CHECK(up.assignments[4].column == "e");
    CHECK(up.assignments[4].value.kind == ValueKind::expression);
    CHECK(up.assignments[4].value.range == span_of(sql, "now()"));
    CHECK_FALSE(up.has_where);
    CHECK_FALSE(up.where.known());
}

TEST_CASE("MultiColumnSetFromASubqueryIsAnExpressionPerColumn", "[sql]") {
    const std::string sql = "UPDATE t SET (a, b) = (SELECT x, y FROM s) WHERE id = 1";
    const auto up = only<UpdateStatement>(sql);
    REQUIRE(up.assignments.size() == 2);
    for (const Assignment& a : up.assignments) {
        CHECK(a.value.kind == ValueKind::expression);
        CHECK(a.value.note == "multiple-column subquery");
        CHECK(a.value.range == span_of(sql, "(SELECT x, y FROM s)"));
    }
}

TEST_CASE("UpdateWhereCurrentOfIsFlagged", "[sql]") {
    const auto up = only<UpdateStatement>("UPDATE t SET a = 1 WHERE CURRENT OF c1");
    CHECK(up.has_where);
    CHECK(up.where_current_of);
}

TEST_CASE("WithUpdateIsFlagged", "[sql]") {
    CHECK(only<UpdateStatement>("WITH v AS (SELECT 1) UPDATE t SET a = 1").has_with);
}

TEST_CASE("DeleteReadsWhereUsingAndReturning", "[sql]") {
    const std::string sql =
        "DELETE FROM public.t AS d USING u WHERE d.id = u.id AND u.x IN (1, 2) RETURNING d.*";
    const auto del = only<DeleteStatement>(sql);
    CHECK(del.table == QualifiedName{"public", "t"});
    CHECK(del.alias == "d");
    CHECK(del.has_using);
    CHECK(del.has_where);
    CHECK(del.where == span_of(sql, "d.id = u.id AND u.x IN (1, 2)"));
    CHECK(del.returning);
    CHECK(del.returning_list == span_of(sql, "d.*"));
    const auto all = only<DeleteStatement>("DELETE FROM t");
    CHECK_FALSE(all.has_where);
    CHECK_FALSE(all.where.known());
}

TEST_CASE("TruncateListsTablesAndOptions", "[sql]") {
    const auto t = only<TruncateStatement>("TRUNCATE TABLE a, s.\"B\" RESTART IDENTITY CASCADE");
    CHECK(t.tables == std::vector<QualifiedName>{{"", "a"}, {"s", "B"}});
    CHECK(t.restart_identity);
    CHECK(t.cascade);
    const auto plain = only<TruncateStatement>("truncate t");
    CHECK_FALSE(plain.restart_identity);
    CHECK_FALSE(plain.cascade);
}

TEST_CASE("AlterTableNamesTableAndCommands", "[sql]") {
    const auto a = only<AlterTableStatement>(
        "ALTER TABLE IF EXISTS courses_enroll ADD CONSTRAINT uq UNIQUE (user_id, course_id), "
        "DROP COLUMN x");
    CHECK(a.table == QualifiedName{"", "courses_enroll"});
    CHECK(a.if_exists);
    CHECK(a.commands == std::vector<std::string>{"AddConstraint", "DropColumn"});
    const auto s = only<AlterTableStatement>("ALTER TABLE t SET SCHEMA archive");
    CHECK(s.commands == std::vector<std::string>{"SetSchema"});
    CHECK(s.new_schema == "archive");
    CHECK(single("ALTER INDEX i SET (fillfactor = 70)").kind() == StatementKind::other);
}

TEST_CASE("DropTableListsTables", "[sql]") {
    const auto d = only<DropTableStatement>("DROP TABLE IF EXISTS a, s.b CASCADE");
    CHECK(d.tables == std::vector<QualifiedName>{{"", "a"}, {"s", "b"}});
    CHECK(d.if_exists);
    CHECK(d.cascade);
    CHECK(single("DROP INDEX i").kind() == StatementKind::other);
}

TEST_CASE("RenameOfTableColumnAndConstraint", "[sql]") {
    const auto t = only<RenameStatement>("ALTER TABLE t RENAME TO t2");
    CHECK(t.target == RenameStatement::Target::table);
    CHECK(t.table == QualifiedName{"", "t"});
    CHECK(t.new_name == "t2");
    const auto c = only<RenameStatement>("ALTER TABLE s.t RENAME COLUMN a TO b");
    CHECK(c.target == RenameStatement::Target::column);
    CHECK(c.table == QualifiedName{"s", "t"});
    CHECK(c.old_name == "a");
    CHECK(c.new_name == "b");
    const auto k = only<RenameStatement>("ALTER TABLE t RENAME CONSTRAINT uq TO uq2");
    CHECK(k.target == RenameStatement::Target::constraint);
    CHECK(k.old_name == "uq");
}

TEST_CASE("CreateUniqueIndexNamesItsColumns", "[sql]") {
    const auto c = only<CreateIndexStatement>(
        "CREATE UNIQUE INDEX CONCURRENTLY uq ON courses_enroll (user_id, course_id) NULLS NOT "
        "DISTINCT");
    CHECK(c.index == "uq");
    CHECK(c.table == QualifiedName{"", "courses_enroll"});
    CHECK(c.unique);
    CHECK(c.nulls_not_distinct);
    CHECK(c.columns == std::vector<std::string>{"user_id", "course_id"});
    CHECK_FALSE(c.has_expressions);
    CHECK_FALSE(c.has_where);
    const auto e = only<CreateIndexStatement>("CREATE INDEX ON t (lower(a), b) WHERE b > 0");
    CHECK_FALSE(e.unique);
    CHECK(e.has_expressions);
    CHECK(e.columns == std::vector<std::string>{"b"});
    CHECK(e.has_where);
}

TEST_CASE("CopyFromStdinWithCsvFormat", "[sql]") {
    const auto c = only<CopyStatement>(
        "COPY t (a, b) FROM STDIN WITH (FORMAT csv, HEADER true, DELIMITER ';')");
    CHECK(c.table == QualifiedName{"", "t"});
    CHECK(c.columns == std::vector<std::string>{"a", "b"});
    CHECK(c.is_from);
    CHECK(c.from_stdin);
    CHECK_FALSE(c.to_stdout);
    CHECK(c.format == CopyFormat::csv);
    using Opt = std::pair<std::string, std::string>;
    CHECK(c.options == std::vector<Opt>{{"format", "csv"}, {"header", "true"}, {"delimiter", ";"}});
}

TEST_CASE("CopyLegacySyntaxAndOtherDirections", "[sql]") {
    const auto legacy = only<CopyStatement>("COPY t FROM STDIN CSV HEADER");
    CHECK(legacy.format == CopyFormat::csv);
    CHECK(legacy.columns.empty());
    const auto binary = only<CopyStatement>("COPY t TO STDOUT (FORMAT binary)");
    CHECK_FALSE(binary.is_from);
    CHECK(binary.to_stdout);
    CHECK(binary.format == CopyFormat::binary);
    const auto file = only<CopyStatement>("COPY t FROM '/tmp/x.csv'");
    CHECK_FALSE(file.from_stdin);
    CHECK(file.filename == "/tmp/x.csv");
    const auto query = only<CopyStatement>("COPY (SELECT 1) TO STDOUT");
    CHECK(query.has_query);
    CHECK(query.table.name.empty());
    const auto prog = only<CopyStatement>("COPY t FROM PROGRAM 'cat x'");
    CHECK(prog.is_program);
    CHECK_FALSE(prog.from_stdin);
}

TEST_CASE("MergeNamesItsTarget", "[sql]") {
    const auto m = only<MergeStatement>(
        "MERGE INTO courses_enroll ce USING src s ON ce.id = s.id WHEN NOT MATCHED THEN INSERT "
        "(user_id) VALUES (s.user_id)");
    CHECK(m.table == QualifiedName{"", "courses_enroll"});
    CHECK(m.alias == "ce");
    CHECK_FALSE(m.has_with);
}

TEST_CASE("TransactionControlForms", "[sql]") {
    using K = TransactionStatement::Kind;
    const auto kind_of = [](std::string_view sql) { return only<TransactionStatement>(sql).kind; };
    CHECK(kind_of("BEGIN") == K::begin);
    CHECK(kind_of("begin work") == K::begin);
    CHECK(kind_of("START TRANSACTION") == K::start);
    CHECK(kind_of("COMMIT") == K::commit);
    CHECK(kind_of("END") == K::commit);
    CHECK(kind_of("ROLLBACK") == K::rollback);
    CHECK(kind_of("ABORT") == K::rollback);
    const auto sp = only<TransactionStatement>("SAVEPOINT \"Sp1\"");
    CHECK(sp.kind == K::savepoint);
    CHECK(sp.savepoint == "Sp1");
    const auto rel = only<TransactionStatement>("RELEASE SAVEPOINT sp1");
    CHECK(rel.kind == K::release);
    CHECK(rel.savepoint == "sp1");
    const auto rel2 = only<TransactionStatement>("RELEASE sp2");
    CHECK(rel2.kind == K::release);
    CHECK(rel2.savepoint == "sp2");
    const auto rb = only<TransactionStatement>("ROLLBACK TO SAVEPOINT sp1");
    CHECK(rb.kind == K::rollback_to);
    CHECK(rb.savepoint == "sp1");
    const auto prep = only<TransactionStatement>("PREPARE TRANSACTION 'gid-1'");
    CHECK(prep.kind == K::prepare);
    CHECK(prep.gid == "gid-1");
    CHECK(only<TransactionStatement>("COMMIT PREPARED 'g'").kind == K::commit_prepared);
    CHECK(only<TransactionStatement>("COMMIT PREPARED 'g'").gid == "g");
    CHECK(only<TransactionStatement>("ROLLBACK PREPARED 'g'").kind == K::rollback_prepared);
    CHECK(only<TransactionStatement>("COMMIT AND CHAIN").chain);
    const auto iso = only<TransactionStatement>("BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY");
    using Opt = std::pair<std::string, std::string>;
    CHECK(iso.options == std::vector<Opt>{{"transaction_isolation", "serializable"},
                                          {"transaction_read_only", "1"}});
}

TEST_CASE("SetFormsThatChangeHowLiteralsAreRead", "[sql]") {
    using K = SetStatement::Kind;
    const auto path = only<SetStatement>("SET search_path = app, \"My Schema\", public");
    CHECK(path.kind == K::set_value);
    CHECK(path.name == "search_path");
    REQUIRE(path.values.size() == 3);
    CHECK(path.values[1].text == "My Schema");
    CHECK(path.value == "app, \"My Schema\", public");
    const auto scs = only<SetStatement>("SET standard_conforming_strings TO off");
    CHECK(scs.name == "standard_conforming_strings");
    CHECK(scs.value == "off");
    const auto enc = only<SetStatement>("SET NAMES 'LATIN1'");
    CHECK(enc.name == "client_encoding");
    CHECK(enc.value == "LATIN1");
    const auto tz = only<SetStatement>("SET LOCAL TIME ZONE 'Europe/Paris'");
    CHECK(tz.name == "timezone");
    CHECK(tz.is_local);
    CHECK(tz.value == "Europe/Paris");
    const auto ds = only<SetStatement>("SET DateStyle = ISO, DMY");
    CHECK(ds.name == "datestyle");
    CHECK(ds.value == "iso, dmy");  // unquoted words are folded, as the server does
    const auto num = only<SetStatement>("SET statement_timeout = 5000");
    CHECK(num.values.at(0).kind == ValueKind::literal_number);
    CHECK(num.value == "5000");
    CHECK(only<SetStatement>("SET TIME ZONE LOCAL").kind == K::set_default);
    CHECK(only<SetStatement>("SET search_path TO DEFAULT").kind == K::set_default);
    const auto reset = only<SetStatement>("RESET TimeZone");
    CHECK(reset.kind == K::reset);
    CHECK(reset.name == "timezone");
    CHECK(only<SetStatement>("RESET ALL").kind == K::reset_all);
    CHECK(only<SetStatement>("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE").kind == K::set_multi);
    CHECK(only<SetStatement>("SET search_path FROM CURRENT").kind == K::set_current);
}

TEST_CASE("OtherStatementsNameTheirNode", "[sql]") {
    CHECK(only<OtherStatement>("SELECT 1").node == "select_stmt");
    CHECK(only<OtherStatement>("DISCARD ALL").node == "discard_stmt");
    CHECK(only<OtherStatement>("PREPARE p AS INSERT INTO t VALUES ($1)").node == "prepare_stmt");
    CHECK(only<OtherStatement>("EXECUTE p(1)").node == "execute_stmt");
    CHECK(only<OtherStatement>("SHOW search_path").node == "variable_show_stmt");
}

TEST_CASE("MultiStatementStringGivesEachStatementItsBytes", "[sql]") {
    const std::string sql =
        "BEGIN; INSERT INTO t (a) VALUES ('x;y') ;\n-- c\nUPDATE t SET a = 2;COMMIT";
    const ParseResult r = parse_postgres(sql);
    REQUIRE(r);
    REQUIRE(r.statements.size() == 4);
    const auto& s = r.statements;
    CHECK(s[0].kind() == StatementKind::transaction);
    CHECK(s[0].range == SourceRange{0, 5});
    CHECK(s[0].trimmed == SourceRange{0, 5});
    CHECK(s[1].kind() == StatementKind::insert);
    CHECK(s[1].range == SourceRange{6, at(sql, " ;") + 1 - 6});
    CHECK(s[1].range.text(sql) == " INSERT INTO t (a) VALUES ('x;y') ");
    CHECK(s[1].trimmed.text(sql) == "INSERT INTO t (a) VALUES ('x;y')");
    CHECK(s[1].get<InsertStatement>()->rows.at(0).at(0).range == span_of(sql, "'x;y'"));
    CHECK(s[2].kind() == StatementKind::update);
    CHECK(s[2].range.text(sql) == "\n-- c\nUPDATE t SET a = 2");
    CHECK(s[2].trimmed.text(sql) == "UPDATE t SET a = 2");
    CHECK(s[2].get<UpdateStatement>()->assignments.at(0).value.range ==
          SourceRange{at(sql, "2;"), 1});
    CHECK(s[3].kind() == StatementKind::transaction);
    CHECK(s[3].range == SourceRange{at(sql, "COMMIT"), 6});
}

TEST_CASE("EmptyStringAndLoneSemicolonsGiveNoStatement", "[sql]") {
    const ParseResult empty = parse_postgres("");
    REQUIRE(empty);
    CHECK(empty.statements.empty());
    const ParseResult semis = parse_postgres(" ; ;-- nothing");
    REQUIRE(semis);
    CHECK(semis.statements.empty());
}

TEST_CASE("SyntaxErrorGivesServerMessageAndPosition", "[sql]") {
    const std::string sql = "INSERT INTO t (a) VALUES (1";
    const ParseResult r = parse_postgres(sql);
    REQUIRE_FALSE(r);
    CHECK(r.statements.empty());
    CHECK(r.error->message == "syntax error at end of input");
    CHECK(r.error->cursor == static_cast<int>(sql.size()) + 1);
    CHECK(r.error->offset == sql.size());

    const std::string near = "INSERT INTO t (a) VALUS (1)";
    const ParseResult n = parse_postgres(near);
    REQUIRE_FALSE(n);
    CHECK(n.error->message == "syntax error at or near \"VALUS\"");
    CHECK(n.error->offset == at(near, "VALUS"));
    CHECK(n.error->cursor == static_cast<int>(at(near, "VALUS")) + 1);
}

TEST_CASE("ErrorPositionCountsCharactersNotBytes", "[sql]") {
    const std::string sql = "SELECT 'é' FRM t";  // é is two bytes
    const ParseResult r = parse_postgres(sql);
    REQUIRE_FALSE(r);
    CHECK(r.error->offset == at(sql, "t"));
    CHECK(r.error->cursor == static_cast<int>(at(sql, "t")));  // one character fewer
}

TEST_CASE("UnterminatedStringIsAnError", "[sql]") {
    const ParseResult r = parse_postgres("INSERT INTO t VALUES ('abc)");
    REQUIRE_FALSE(r);
    CHECK(r.error->message == "unterminated quoted string at or near \"'abc)\"");
}

TEST_CASE("ZeroByteIsRefused", "[sql]") {
    const std::string sql("SELECT 1\0; DROP TABLE t", 23);
    const ParseResult r = parse_postgres(sql);
    REQUIRE_FALSE(r);
    CHECK(r.error->offset == 8);
}
