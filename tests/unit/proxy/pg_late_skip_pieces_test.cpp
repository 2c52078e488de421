#include "proxy/pg_late_skip_pieces.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "guard/pg_late_skip_sql.hpp"
#include "pg_enroll_fixture.hpp"

using namespace uniqguard;
using uniqguard::test::enroll_guard;
using uniqguard::test::enroll_table;

namespace {
std::string piece(std::string_view sql, std::size_t begin, std::size_t end) {
    return std::string(sql.substr(begin, end - begin));
}

}  // namespace

TEST_CASE("late_skip_pieces finds the parts of a skipping INSERT by its tokens", "[pg_late_skip]") {
    const std::string sql =
        "WITH s AS (SELECT 1 AS u /* ON CONFLICT */) INSERT INTO \"Public\".enroll AS e "
        "(user_id, course_id) SELECT u, 2 FROM s JOIN t ON conflict = 1 ON CONFLICT (user_id, "
        "course_id) DO NOTHING RETURNING e.id, (1) -- done";
    auto p = proxy::late_skip_pieces(sql, true, true, true);
    REQUIRE(p);
    CHECK(piece(sql, 0, p->with_end) == "WITH s AS (SELECT 1 AS u /* ON CONFLICT */) ");
    CHECK(piece(sql, p->target_begin, p->target_end) == "\"Public\".enroll");
    CHECK(piece(sql, p->target_end, p->source_end) ==
          " AS e (user_id, course_id) SELECT u, 2 FROM s JOIN t ON conflict = 1 ");
    CHECK(piece(sql, p->conflict_begin, p->conflict_end) ==
          "ON CONFLICT (user_id, course_id) DO NOTHING");
    CHECK(piece(sql, p->returning_begin, p->returning_end) == "e.id, (1)");

    const std::string plain = "INSERT INTO enroll (user_id, course_id) SELECT a, b FROM src;";
    auto q = proxy::late_skip_pieces(plain, false, false, false);
    REQUIRE(q);
    CHECK(q->with_end == 0);
    CHECK(piece(plain, q->target_begin, q->target_end) == "enroll");
    CHECK(piece(plain, q->target_end, q->source_end) ==
          " (user_id, course_id) SELECT a, b FROM src");
    CHECK(q->conflict_end == q->conflict_begin);
    CHECK(q->returning_end == q->returning_begin);

    // The text must read as the parse did.
    CHECK_FALSE(proxy::late_skip_pieces(plain, false, true, false));
    CHECK_FALSE(proxy::late_skip_pieces(plain, false, false, true));
    CHECK_FALSE(proxy::late_skip_pieces("UPDATE enroll SET a = 1", false, false, false));
}

TEST_CASE("late_skip_statement: the stage, then the rows whose key is new, in order",
          "[pg_late_skip]") {
    const std::string sql =
        "INSERT INTO enroll AS e (user_id, course_id, note) SELECT a, b, 'x' FROM src ON "
        "CONFLICT DO NOTHING RETURNING e.id";
    auto p = proxy::late_skip_pieces(sql, false, true, true);
    REQUIRE(p);
    guard::LateSkipInsert ins{
        .alias = "e", .columns = {"user_id", "course_id", "note"}, .keep_conflict_clause = true};
    const auto stage = guard::late_skip_stage_name(enroll_table(), enroll_guard(), ins.columns);
    CHECK(stage.starts_with("uniqguard_stage_"));
    CHECK(stage.size() == 16 + 8);
    // Another column list, or another type, is another stage.
    CHECK(stage != guard::late_skip_stage_name(enroll_table(), enroll_guard(),
                                               {"course_id", "user_id", "note"}));
    auto altered = enroll_table();
    altered.columns[3].type_name = "character varying(10)";
    CHECK(stage != guard::late_skip_stage_name(altered, enroll_guard(), ins.columns));

    std::vector<guard::CopiedText> copies;
    const auto out = guard::late_skip_statement(enroll_table(), enroll_guard(), ins, sql, *p,
                                                ", uniqguard_ins AS (", &copies);
    CHECK(out ==
          "WITH uniqguard_stage AS (DELETE FROM pg_temp." + stage +
              " RETURNING *), "
              // each row, kept when first with its key and the key is not in the table
              "uniqguard_s AS (SELECT s.*, ((s.uniqguard_nth = 1 OR s.user_id IS NULL OR "
              "s.course_id IS NULL) AND NOT EXISTS (SELECT 1 FROM ONLY public.enroll AS "
              "uniqguard_t WHERE uniqguard_t.user_id = s.user_id AND uniqguard_t.course_id = "
              "s.course_id)) OR s.user_id IS NULL OR s.course_id IS NULL AS uniqguard_keep FROM "
              "(SELECT "
              "uniqguard_stage.*, pg_catalog.row_number() OVER (PARTITION BY user_id, course_id "
              "ORDER BY uniqguard_stage.uniqguard_row) AS uniqguard_nth FROM uniqguard_stage) AS "
              "s), "
              // the skipped rows' keys, for the log
              "uniqguard_skip AS (INSERT INTO pg_temp.uniqguard_skipped_" +
              stage.substr(16) +
              " SELECT uniqguard_row, pg_catalog.format('%s', user_id), pg_catalog.format('%s', "
              "course_id) FROM uniqguard_s WHERE NOT uniqguard_keep), "
              // the kept rows into the table, in their order
              "uniqguard_ins AS (INSERT INTO enroll AS e (user_id, course_id, note) SELECT "
              "uniqguard_s.user_id, uniqguard_s.course_id, uniqguard_s.note FROM uniqguard_s "
              "WHERE uniqguard_s.uniqguard_keep ORDER BY uniqguard_s.uniqguard_row\nON CONFLICT "
              "DO NOTHING\nRETURNING e.id");
    // Every piece of the client's text is where `copies` says.
    REQUIRE(copies.size() == 3);
    for (const auto& c : copies)
        CHECK(out.substr(c.at, c.length) == sql.substr(c.origin, c.length));

    // The stage filled by the client's INSERT, its rows the staged keys.
    copies.clear();
    const auto fill =
        guard::late_skip_stage_fill(enroll_table(), enroll_guard(), ins, sql, *p, &copies);
    CHECK(fill == "INSERT INTO pg_temp." + stage +
                      "  AS e (user_id, course_id, note) SELECT a, b, 'x' FROM src \nRETURNING "
                      "CASE WHEN user_id IS NULL THEN NULL ELSE "
                      "pg_catalog.encode(pg_catalog.convert_to(pg_catalog.format('%s', user_id), "
                      "pg_catalog.getdatabaseencoding()), 'hex') END, CASE WHEN course_id IS NULL "
                      "THEN NULL ELSE pg_catalog.encode(pg_catalog.convert_to(pg_catalog.format("
                      "'%s', course_id), pg_catalog.getdatabaseencoding()), 'hex') END");
    REQUIRE(copies.size() == 1);
    CHECK(fill.substr(copies[0].at, copies[0].length) ==
          " AS e (user_id, course_id, note) SELECT a, b, 'x' FROM src ");
    // With a WITH list: it heads the filling, as the client wrote it.
    const std::string with =
        "WITH s AS (SELECT 1) INSERT INTO enroll (user_id, course_id, note) SELECT 1, 2, 'x' "
        "FROM s";
    auto w = proxy::late_skip_pieces(with, true, false, false);
    REQUIRE(w);
    CHECK(guard::late_skip_stage_fill(enroll_table(), enroll_guard(), ins, with, *w)
              .starts_with("WITH s AS (SELECT 1) INSERT INTO pg_temp." + stage +
                           "  (user_id, course_id, note) SELECT 1, 2, 'x' FROM s\nRETURNING "));

    // NULLS NOT DISTINCT: a NULL is a key like any other; the clause not kept.
    ins.nulls_distinct = false;
    ins.keep_conflict_clause = false;
    const auto nnd = guard::late_skip_statement(enroll_table(), enroll_guard(), ins, sql, *p,
                                                ", uniqguard_ins AS (");
    CHECK(nnd.find("uniqguard_nth = 1) AND NOT EXISTS") != std::string::npos);
    CHECK(nnd.find("uniqguard_t.user_id IS NOT DISTINCT FROM s.user_id") != std::string::npos);
    CHECK(nnd.find("ON CONFLICT") == std::string::npos);

    const auto create = guard::late_skip_stage_create(enroll_table(), enroll_guard(), ins.columns);
    CHECK(
        create ==
        "IF pg_catalog.to_regclass(E'pg_temp." + stage + "') IS NULL THEN CREATE TEMP TABLE " +
            stage +
            " ON COMMIT DELETE ROWS AS SELECT user_id, course_id, note FROM ONLY "
            "public.enroll WITH NO DATA; ALTER TABLE pg_temp." +
            stage +
            " ADD COLUMN uniqguard_row bigint GENERATED ALWAYS AS IDENTITY; GRANT SELECT, INSERT, "
            "DELETE ON pg_temp." +
            stage +
            " TO PUBLIC; END IF; "
            "IF pg_catalog.to_regclass(E'pg_temp.uniqguard_skipped_" +
            stage.substr(16) + "') IS NULL THEN CREATE TEMP TABLE uniqguard_skipped_" +
            stage.substr(16) +
            " (uniqguard_row bigint, uniqguard_k1 text, uniqguard_k2 text) ON COMMIT "
            "DELETE ROWS; GRANT SELECT, INSERT, DELETE ON pg_temp.uniqguard_skipped_" +
            stage.substr(16) + " TO PUBLIC; END IF; ");
    const auto skipped = "uniqguard_skipped_" + stage.substr(16);
    CHECK(guard::late_skip_probe(enroll_table(), enroll_guard(), ins.columns) ==
          "WITH uniqguard_d AS (DELETE FROM pg_temp." + skipped +
              " RETURNING *) SELECT CASE WHEN uniqguard_k1 IS NULL THEN NULL ELSE "
              "pg_catalog.encode(pg_catalog.convert_to(uniqguard_k1, "
              "pg_catalog.getdatabaseencoding()), 'hex') END, CASE WHEN uniqguard_k2 IS NULL THEN "
              "NULL ELSE pg_catalog.encode(pg_catalog.convert_to(uniqguard_k2, "
              "pg_catalog.getdatabaseencoding()), 'hex') END FROM uniqguard_d ORDER BY "
              "uniqguard_row");
}
