// The SQL of audit and dedupe, pinned for both servers: what each statement asks the server to
// do (the real behaviour is tested against PostgreSQL and MariaDB in tests/integration).
#include "app/audit/duplicate_sql.hpp"

#include <catch2/catch.hpp>

using namespace uniqguard::app::audit;

namespace {

// Quotes as the real connections do; never connects.
class FakeDb final : public ToolDb {
  public:
    explicit FakeDb(Flavour f) : f_(f) {}
    Flavour flavour() const override { return f_; }
    std::string server_description() const override { return "fake"; }
    std::uint64_t execute(const std::string&) override { return 0; }
    std::vector<Row> query(const std::string&) override { return {}; }
    std::uint64_t stream(const std::string&, const std::function<void(const Row&)>&) override {
        return 0;
    }
    void make_read_only() override {}
    std::string quote_identifier(std::string_view name) const override {
        const char q = f_ == Flavour::postgres ? '"' : '`';
        return q + std::string(name) + q;
    }
    std::string quote_literal(std::string_view text) const override {
        return "'" + std::string(text) + "'";
    }
    std::size_t identifier_limit() const override { return 63; }
    bool identifier_limit_in_bytes() const override { return true; }

  private:
    Flavour f_;
};

TableInfo enroll() {
    TableInfo t;
    t.display = "public.enroll";
    t.sql = "\"public\".\"enroll\"";
    t.schema = "public";
    t.name = "enroll";
    t.columns = {"id", "user_id", "course_id"};
    t.key = {"user_id", "course_id"};
    t.identity = {"id"};
    t.identity_is_primary_key = true;
    return t;
}

}  // namespace

TEST_CASE("audit: GROUP BY over non-NULL keys, joined back by =, ordered by group", "[audit]") {
    FakeDb db(Flavour::postgres);
    const TableInfo t = enroll();
    const DuplicateSql sql(db, t, true, RowOrder{});
    CHECK(sql.duplicate_rows() ==
          "SELECT x.uniqguard_g, x.\"user_id\", x.\"course_id\", x.\"id\" FROM (SELECT o.*, "
          "d.uniqguard_g FROM \"public\".\"enroll\" o JOIN (SELECT \"user_id\", \"course_id\", "
          "ROW_NUMBER() OVER (ORDER BY \"user_id\", \"course_id\") AS uniqguard_g FROM "
          "\"public\".\"enroll\" WHERE \"user_id\" IS NOT NULL AND \"course_id\" IS NOT NULL "
          "GROUP BY \"user_id\", \"course_id\" HAVING COUNT(*) > 1) d ON o.\"user_id\" = "
          "d.\"user_id\" AND o.\"course_id\" = d.\"course_id\") x ORDER BY x.uniqguard_g, "
          "x.\"id\" ASC");
    CHECK(sql.remaining_groups() ==
          "SELECT COUNT(*) FROM (SELECT 1 AS one FROM \"public\".\"enroll\" WHERE \"user_id\" IS "
          "NOT NULL AND \"course_id\" IS NOT NULL GROUP BY \"user_id\", \"course_id\" HAVING "
          "COUNT(*) > 1) v");
}

TEST_CASE("nulls_distinct = false: window functions, NULLs grouped, no NOT NULL filter",
          "[audit]") {
    FakeDb db(Flavour::postgres);
    TableInfo t = enroll();
    t.identity = {"ctid"};
    t.identity_is_ctid = true;
    const DuplicateSql sql(db, t, false, RowOrder{.order_by = "created", .newest = true});
    CHECK(sql.duplicate_rows() ==
          "SELECT x.uniqguard_g, x.\"user_id\", x.\"course_id\", x.uniqguard_ctid FROM (SELECT "
          "y.* FROM (SELECT o.*, o.ctid AS uniqguard_ctid, DENSE_RANK() OVER (ORDER BY "
          "o.\"user_id\", o.\"course_id\") AS uniqguard_g, COUNT(*) OVER (PARTITION BY "
          "o.\"user_id\", o.\"course_id\") AS uniqguard_n FROM \"public\".\"enroll\" o) y WHERE "
          "y.uniqguard_n > 1) x ORDER BY x.uniqguard_g, (x.\"created\" IS NULL) ASC, "
          "x.\"created\" DESC, x.uniqguard_ctid DESC");
    CHECK(sql.remaining_groups() ==
          "SELECT COUNT(*) FROM (SELECT 1 AS one FROM \"public\".\"enroll\" GROUP BY "
          "\"user_id\", \"course_id\" HAVING COUNT(*) > 1) v");
    CHECK(sql.delete_doomed("uniqguard_doomed") ==
          "DELETE FROM \"public\".\"enroll\" o USING uniqguard_doomed d WHERE o.ctid = "
          "d.uniqguard_i1");
}

TEST_CASE("dedupe on MySQL: DELETE and UPDATE with joins, quarantine in InnoDB", "[dedupe]") {
    FakeDb db(Flavour::mysql);
    TableInfo t = enroll();
    t.sql = "`app`.`enroll`";
    const DuplicateSql sql(db, t, true, RowOrder{});
    CHECK(sql.delete_doomed("uniqguard_doomed") ==
          "DELETE o FROM `app`.`enroll` o JOIN uniqguard_doomed d ON o.`id` = d.uniqguard_i1");
    const ForeignKeyRef fk{.name = "grade_enroll",
                           .table_display = "app.grade",
                           .table_sql = "`app`.`grade`",
                           .columns = {"enroll_id"},
                           .referenced = {"id"}};
    CHECK(sql.repoint(fk, "uniqguard_doomed") ==
          "UPDATE `app`.`grade` r JOIN `app`.`enroll` o ON r.`enroll_id` = o.`id` JOIN "
          "uniqguard_doomed d ON o.`id` = d.uniqguard_i1 JOIN `app`.`enroll` k ON k.`id` = "
          "d.uniqguard_k1 SET r.`enroll_id` = k.`id`");
    CHECK(sql.copy_to_quarantine("`app`.`q`", "g", "uniqguard_doomed") ==
          "INSERT INTO `app`.`q` (`id`, `user_id`, `course_id`, quarantined_at, guard) SELECT "
          "o.`id`, o.`user_id`, o.`course_id`, NOW(6), 'g' FROM `app`.`enroll` o JOIN "
          "uniqguard_doomed d ON o.`id` = d.uniqguard_i1");
    CHECK(sql.create_quarantine("`app`.`q`") ==
          "CREATE TABLE IF NOT EXISTS `app`.`q` ENGINE = InnoDB AS SELECT o.*, NOW(6) AS "
          "quarantined_at, CAST('' AS CHAR(255)) AS guard FROM `app`.`enroll` o WHERE 1 = 0");
}
