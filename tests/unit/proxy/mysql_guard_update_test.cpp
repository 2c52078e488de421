// An UPDATE setting the key of a guarded MySQL table (proxy/mysql_guard_update.cpp), on a guard
// over an integer key whose key set is filled by hand; the server's side is in
// tests/integration/test_mysql_guard_update.py.
#include <catch2/catch.hpp>
#include <string>

#include "guard/key_fingerprint.hpp"
#include "guard/mysql_update_check_sql.hpp"
#include "mysql_guard_fixture.hpp"

using namespace uniqguard;
using namespace uniqguard::proxy;
using Kind = MySqlGuard::Step::Kind;
using Fixture = uniqguard::test::MySqlGuardFixture;
using uniqguard::test::signals;

namespace {

constexpr std::uint16_t in_transaction = 0x0001;

// The check of an UPDATE setting `user_id` to `key`, for the rows `matched` selects.
std::string check_of(const std::string& key, const std::string& matched,
                     const std::string& from = "`app`.`enroll`") {
    const std::string holds = "(`user_id` = " + key + ") IS TRUE";
    return "SELECT CONCAT((SELECT COALESCE(SUM(" + matched + ") > 0 AND SUM(" + matched + " OR " +
           holds + ") > 1, 0) FROM " + from + " WHERE " + matched + " OR " + holds + "))";
}

bool knows(Fixture& f, std::int64_t key) {
    std::string encoded;
    guard::append_key_part(encoded, f.g().mysql_table()->keys.literal_key(
                                        0, guard::MySqlLiteral::exact_number, std::to_string(key),
                                        guard::ClientCharset::utf8mb4));
    return f.g().keys().contains(guard::fingerprint_encoded_key(encoded, f.g().seed()));
}

}  // namespace

TEST_CASE("AnUpdateOfTheWholeKeyIsCheckedAndPassesWhenOneRowHoldsIt", "[mysql][guard][update]") {
    Fixture f;
    auto step = f.query("UPDATE enroll SET note = 'x', user_id = '5' WHERE id = 1");
    REQUIRE(step.kind == Kind::check);
    CHECK(step.sql == check_of("5", "((id = 1) IS TRUE)"));
    CHECK(!knows(f, 5));
    CHECK(f.answer("0").kind == Kind::forward);
    CHECK(knows(f, 5));  // joins the key set as the UPDATE goes out
    CHECK(f.g().counters().checked.load() == 1);
    CHECK(f.g().counters().passed.load() == 1);
}

TEST_CASE("AnUpdateThatWouldLeaveTwoRowsWithTheKeyFailsAsTheIndex", "[mysql][guard][update]") {
    Fixture f;
    REQUIRE(f.query("UPDATE `app`.enroll SET user_id = 7").kind == Kind::check);
    CHECK(signals(f.answer("1"), "1062", "Duplicate entry '7' for key 'enroll_uniq'"));
    CHECK(f.g().counters().rejected.load() == 1);
    CHECK(!knows(f, 7));
    CHECK(f.g().claims().size() == 0);  // it does not run: no key of it stays claimed
    // Without a WHERE every row is matched.
    auto step = f.query("UPDATE enroll SET user_id = 7");
    CHECK(step.sql == check_of("7", "1"));
}

TEST_CASE("AnUpdateWithAnAliasIsCheckedUnderTheAlias", "[mysql][guard][update]") {
    Fixture f;
    auto step =
        f.query("UPDATE enroll AS e SET e.user_id = 8 WHERE e.id IN (1, 2) OR e.note = 'a'");
    REQUIRE(step.kind == Kind::check);
    CHECK(step.sql ==
          check_of("8", "((e.id IN (1, 2) OR e.note = 'a') IS TRUE)", "`app`.`enroll` AS `e`"));
}

TEST_CASE("AnUpdateToNullOrOfOtherColumnsIsNotChecked", "[mysql][guard][update]") {
    Fixture f;
    CHECK(f.query("UPDATE enroll SET user_id = NULL WHERE id = 1").kind == Kind::forward);
    CHECK(f.query("UPDATE enroll SET note = 'x' WHERE user_id = 1").kind == Kind::forward);
    CHECK(f.g().keys().size() == 0);
    CHECK(f.g().counters().checked.load() == 0);
}

TEST_CASE("UpdateFormsNotEnforcedAreRefused", "[mysql][guard][update]") {
    Fixture f;
    const auto refused = [&](const std::string& sql, const std::string& what) {
        return signals(f.query(sql), "1235",
                       mysql_unenforced_message(what, "app.enroll", "enroll_uniq"));
    };
    CHECK(refused("UPDATE enroll SET user_id = 2 ORDER BY id",
                  "an UPDATE … ORDER BY / LIMIT that sets a key column"));
    CHECK(refused("UPDATE enroll, other SET enroll.user_id = 2 WHERE other.id = enroll.id",
                  "a multi-table UPDATE that sets a key column"));
    CHECK(refused("UPDATE IGNORE enroll SET user_id = 2", "UPDATE IGNORE of a key column"));
    CHECK(f.g().counters().refused.load() == 3);
    CHECK(f.g().counters().checked.load() == 0);
    // A key column set to an expression, or twice, is staged (mysql_guard_staged_test.cpp).
    auto step = f.query("UPDATE enroll SET user_id = user_id + 1 WHERE id = 1");
    CHECK(step.kind == Kind::check);
    CHECK(step.sql.rfind("SELECT CONCAT(LAST_INSERT_ID(), ", 0) == 0);
    Fixture g;
    step = g.query("UPDATE enroll SET user_id = 1, user_id = 2");
    CHECK(step.kind == Kind::check);
    CHECK(step.sql.rfind("SELECT CONCAT(LAST_INSERT_ID(), ", 0) == 0);
}

TEST_CASE("AnUpdateUnderIgnoreFailsAsUnderRejectAndUnderLogIsForwardedAfterTheCheck",
          "[mysql][guard][update]") {
    // An UPDATE has no IGNORE here and no ON CONFLICT: its duplicate is the unique key's 1062
    // under `ignore` too (refused until 2026-11-28).
    Fixture ignore(config::GuardAction::ignore);
    REQUIRE(ignore.query("UPDATE enroll SET user_id = 2 WHERE id = 1").kind == Kind::check);
    CHECK(signals(ignore.answer("1"), "1062", "Duplicate entry '2' for key 'enroll_uniq'"));
    CHECK(ignore.g().counters().rejected.load() == 1);
    CHECK(ignore.g().counters().ignored.load() == 0);
    REQUIRE(ignore.query("UPDATE enroll SET user_id = 3 WHERE id = 1").kind == Kind::check);
    CHECK(ignore.answer("0").kind == Kind::forward);
    CHECK(knows(ignore, 3));
    // (UPDATE IGNORE, which skips the rows that collide, stays refused)
    CHECK(signals(
        ignore.query("UPDATE IGNORE enroll SET user_id = 2 WHERE id = 1"), "1235",
        mysql_unenforced_message("UPDATE IGNORE of a key column", "app.enroll", "enroll_uniq")));
    Fixture log(config::GuardAction::log);
    REQUIRE(log.query("UPDATE enroll SET user_id = 2").kind == Kind::check);
    CHECK(log.g().claims().size() == 0);  // log claims nothing
    CHECK(log.answer("1").kind == Kind::forward);
    CHECK(log.g().counters().logged.load() == 1);
    CHECK(knows(log, 2));
}

TEST_CASE("TheChecksOwnErrorAnswersTheUpdate", "[mysql][guard][update]") {
    Fixture f;
    REQUIRE(f.query("UPDATE enroll SET user_id = 2 WHERE nope = 1").kind == Kind::check);
    std::string bytes;
    protocol::mysql::append_packet(bytes, 1,
                                   std::string("\xFF\x1E\x04", 3) + "#42S22Unknown column 'nope'");
    protocol::mysql::ValueReplyReader reply(true);
    reply.feed(util::as_bytes(bytes));
    REQUIRE(reply.status() == protocol::mysql::ValueReplyReader::Status::done);
    const auto step = f.guard.on_check_reply(reply);
    CHECK(step.kind == Kind::replace);
    CHECK(step.sql == guard::mysql_signal_sql(1054, "42S22", "Unknown column 'nope'"));
    CHECK(f.g().claims().size() == 0);
}

TEST_CASE("AnUpdatesNewKeyIsClaimedAndAnInsertOfItWaits", "[mysql][guard][update][claims]") {
    Fixture a;
    Fixture b(a.registry);
    REQUIRE(a.query("UPDATE enroll SET user_id = 3 WHERE id = 1").kind == Kind::check);
    CHECK(a.g().claims().size() == 1);  // claimed before the check
    REQUIRE(a.answer("0").kind == Kind::forward);
    a.guard.on_command_sent();
    a.guard.on_reply(false, 0, in_transaction, true);
    CHECK(b.query("INSERT INTO enroll (user_id) VALUES (3)").kind == Kind::wait);
    CHECK(b.query("UPDATE enroll SET user_id = 3 WHERE id = 2").kind == Kind::wait);
    CHECK(b.guard.waiting_for() == &a.g());
}

TEST_CASE("TheUpdateCheckSqlCountsPerGuard", "[mysql][guard][update]") {
    guard::MySqlKeyColumnType id;
    id.kind = guard::MySqlKeyColumnType::Kind::integer;
    id.integer = {4, false};
    const guard::MySqlKeyColumns one({{"a", id, nullptr}});
    const guard::MySqlKeyColumns two({{"b", id, nullptr}, {"c", id, nullptr}});
    const guard::MySqlKeyText k1{"1"}, k2{std::nullopt, "-3"};
    CHECK(
        guard::mysql_update_check_sql("s", "t", "x", "x.id = 2",
                                      {{&one, &k1}, {&two, &k2, {false, true}}}) ==
        "SELECT CONCAT("
        "(SELECT COALESCE(SUM(((x.id = 2) IS TRUE)) > 0 AND SUM(((x.id = 2) IS TRUE) OR (`a` = "
        "1) IS TRUE) > 1, 0) FROM `s`.`t` AS `x` WHERE ((x.id = 2) IS TRUE) OR (`a` = 1) IS "
        "TRUE), ';', "
        "(SELECT CONCAT(COUNT(*), '/', COALESCE(GROUP_CONCAT(CONCAT(IF(uniqguard_c > 1, '!', ''), "
        "uniqguard_h, '.') SEPARATOR ','), '')) FROM ("
        "SELECT COUNT(*) AS uniqguard_c, MIN(IF(uniqguard_m, CONCAT_WS(':', "
        "HEX(CONVERT(uniqguard_k0 USING utf8mb4)), HEX(CONVERT(uniqguard_k1 USING utf8mb4))), "
        "NULL)) AS uniqguard_h FROM ("
        "SELECT ((x.id = 2) IS TRUE) AS uniqguard_m, `b` AS uniqguard_k0, IF(((x.id = 2) IS "
        "TRUE), -3, `c`) AS uniqguard_k1 FROM `s`.`t` AS `x` WHERE ((x.id = 2) IS TRUE) OR (`c` "
        "= -3) IS TRUE) AS uniqguard_r WHERE uniqguard_k0 IS NOT NULL AND uniqguard_k1 IS NOT "
        "NULL GROUP BY uniqguard_k0, uniqguard_k1 HAVING MAX(uniqguard_m) = 1) AS uniqguard_g))");
}

namespace {

// A guard over two integer columns, (user_id, course_id), loaded with no keys.
struct TwoColumns : Fixture {
    TwoColumns() : Fixture(shared()) {}
    static std::shared_ptr<guard::GuardRegistry> shared() {
        auto cfg = guard_config(config::GuardAction::reject);
        cfg.columns = {"user_id", "course_id"};
        auto registry =
            std::make_shared<guard::GuardRegistry>(std::vector<config::Guard>{std::move(cfg)});
        guard::MySqlKeyColumnType id;
        id.kind = guard::MySqlKeyColumnType::Kind::integer;
        id.integer = {4, false};
        auto table = std::make_shared<const guard::MySqlGuardTable>(guard::MySqlGuardTable{
            .schema = "app",
            .name = "enroll",
            .columns = {"id", "user_id", "course_id"},
            .keys =
                guard::MySqlKeyColumns({{"user_id", id, nullptr}, {"course_id", id, nullptr}})});
        registry->guards()[0]->set_ready(guard::GuardTable{.schema = "app", .name = "enroll"},
                                         table);
        return registry;
    }
    bool knows(std::int64_t user, std::int64_t course) {
        const auto& keys = g().mysql_table()->keys;
        std::string encoded;
        guard::append_key_part(
            encoded, keys.literal_key(0, guard::MySqlLiteral::exact_number, std::to_string(user),
                                      guard::ClientCharset::utf8mb4));
        guard::append_key_part(
            encoded, keys.literal_key(1, guard::MySqlLiteral::exact_number, std::to_string(course),
                                      guard::ClientCharset::utf8mb4));
        return g().keys().contains(guard::fingerprint_encoded_key(encoded, g().seed()));
    }
};

}  // namespace

TEST_CASE("AnUpdateOfPartOfTheKeyLearnsTheNewKeysTheCheckReads", "[mysql][guard][update]") {
    TwoColumns f;
    auto step = f.query("UPDATE enroll SET course_id = 5 WHERE id IN (1, 2)");
    REQUIRE(step.kind == Kind::check);
    CHECK(step.sql.starts_with("SELECT CONCAT((SELECT CONCAT(COUNT(*), '/'"));
    CHECK(f.g().claims().size() == 0);  // the new keys are not known yet: nothing claimed
    // Two rows, keys (7, 5) and (8, 5) ("7" is 0x37).
    CHECK(f.answer("2/37:35.,38:35.").kind == Kind::forward);
    CHECK(f.knows(7, 5));
    CHECK(f.knows(8, 5));
    CHECK(!f.knows(9, 5));
    // A key two rows would hold: the index's error, with the check's spelling of it.
    REQUIRE(f.query("UPDATE enroll SET course_id = 6 WHERE id IN (1, 2)").kind == Kind::check);
    CHECK(signals(f.answer("2/37:36.,!3130:36."), "1062",
                  "Duplicate entry '10-6' for key 'enroll_uniq'"));
    CHECK(!f.knows(7, 6));  // refused: nothing learnt
    // A list cut short (group_concat_max_len): refused rather than a key left unknown.
    REQUIRE(f.query("UPDATE enroll SET course_id = 6 WHERE id IN (1, 2)").kind == Kind::check);
    CHECK(signals(f.answer("3/37:36.,38:36."), "1235",
                  "uniqguard: guard \"enroll_uniq\" could not check the statement's keys on the "
                  "server (an unexpected reply); the statement was refused"));
    // Cut inside its last key: the count matches, the terminator is missing.
    REQUIRE(f.query("UPDATE enroll SET course_id = 6 WHERE id IN (1, 2)").kind == Kind::check);
    CHECK(signals(f.answer("2/37:36.,38:3"), "1235",
                  "uniqguard: guard \"enroll_uniq\" could not check the statement's keys on the "
                  "server (an unexpected reply); the statement was refused"));
    CHECK(!f.knows(7, 6));
}

TEST_CASE("APreparedUpdateOfTheKeyIsCheckedWithEachExecutesValues",
          "[mysql][guard][update][prepared]") {
    Fixture f;
    const auto command = [&](const std::string& payload) {
        return f.guard.on_command(payload, f.settings, f.session);
    };
    using uniqguard::test::execute;
    using uniqguard::test::prepare_ok;
    REQUIRE(command("\x16UPDATE enroll SET user_id = ?, note = 'x' WHERE id = ? OR id = ?").kind ==
            Kind::forward);
    // One that sets no key column is not followed: its executes go as they are.
    REQUIRE(command("\x16UPDATE enroll SET note = ? WHERE user_id = ?").kind == Kind::forward);
    f.guard.on_prepare_answer(util::as_bytes(prepare_ok(7, 3)));
    f.guard.on_prepare_answer(util::as_bytes(prepare_ok(8, 2)));
    CHECK(f.guard.prepared().size() == 1);
    CHECK(command(execute(8, {1, 2})).kind == Kind::forward);
    CHECK(f.g().counters().checked.load() == 0);

    // The execute's values are in the check: the new key, and the WHERE's (a negative one in
    // parentheses).
    auto step = command(execute(7, {5, 1, -2}));
    REQUIRE(step.kind == Kind::check);
    CHECK(step.sql == check_of("5", "((id =  1  OR id =  (-2) ) IS TRUE)"));
    CHECK(f.g().claims().size() == 1);
    CHECK(signals(f.answer("1"), "1062", "Duplicate entry '5' for key 'enroll_uniq'"));
    CHECK(f.g().claims().size() == 0);
    CHECK(!knows(f, 5));
    // Types bound by the first execute only: the next reads them (and, as the refused one never
    // reached the server, has them written in).
    step = command(execute(7, {6, 3, 4}, false));
    REQUIRE(step.kind == Kind::check);
    CHECK(step.sql == check_of("6", "((id =  3  OR id =  4 ) IS TRUE)"));
    const auto rewritten = f.answer("0");
    CHECK(rewritten.kind == Kind::rewrite);
    CHECK(knows(f, 6));
    // A NULL key never collides.
    CHECK(command(execute(7, {std::nullopt, 3, 4}, false)).kind == Kind::forward);
    CHECK(f.g().counters().checked.load() == 2);
}

TEST_CASE("APreparedUpdateUnderIgnoreIsCheckedAsUnderReject", "[mysql][guard][update][prepared]") {
    Fixture f(config::GuardAction::ignore);
    const auto command = [&](const std::string& payload) {
        return f.guard.on_command(payload, f.settings, f.session);
    };
    REQUIRE(command("\x16UPDATE enroll SET user_id = ? WHERE id = ?").kind == Kind::forward);
    f.guard.on_prepare_answer(util::as_bytes(uniqguard::test::prepare_ok(7, 2)));
    CHECK(f.guard.prepared().size() == 1);  // refused at the prepare until 2026-11-28
    auto step = command(uniqguard::test::execute(7, {5, 1}));
    REQUIRE(step.kind == Kind::check);
    CHECK(signals(f.answer("1"), "1062", "Duplicate entry '5' for key 'enroll_uniq'"));
    CHECK(f.g().counters().rejected.load() == 1);
}

TEST_CASE("APreparedUpdateWhoseWhereValueCannotBeWrittenIsRefused",
          "[mysql][guard][update][prepared]") {
    Fixture f;
    using uniqguard::test::le32;
    using uniqguard::test::prepare_ok;
    REQUIRE(f.guard
                .on_command("\x16UPDATE enroll SET user_id = 1 WHERE created = ?", f.settings,
                            f.session)
                .kind == Kind::forward);
    f.guard.on_prepare_answer(util::as_bytes(prepare_ok(9, 1)));
    // One TIME parameter (type 11): 8 bytes, 1 day 02:03:04.
    std::string payload = "\x17" + le32(9) + std::string("\x00\x01\x00\x00\x00", 5);
    payload += std::string("\x00\x01\x0b\x00", 4);
    payload += std::string("\x08\x00\x01\x00\x00\x00\x02\x03\x04", 9);
    const auto step = f.guard.on_command(payload, f.settings, f.session);
    CHECK(signals(step, "1235",
                  mysql_unenforced_message(
                      "an execute of a prepared UPDATE with a value in its WHERE the proxy cannot "
                      "write into its check (TIME, BIT, JSON, a zero or impossible date, long data "
                      "past what the proxy keeps)",
                      "app.enroll", "enroll_uniq")));
    CHECK(f.g().claims().size() == 0);
    // sql_mode changed since the prepare (PIPES_AS_CONCAT makes its `||` a concatenation): its
    // WHERE would read otherwise in the check than in the server's statement.
    const std::string prepare = "\x16UPDATE enroll SET user_id = 2 WHERE id = 1 || id = 2";
    REQUIRE(f.guard.on_command(prepare, f.settings, f.session).kind == Kind::forward);
    f.guard.on_prepare_answer(util::as_bytes(prepare_ok(10, 0)));
    const std::string execute10 = "\x17" + le32(10) + std::string("\x00\x01\x00\x00\x00", 5);
    REQUIRE(f.query("SET sql_mode = 'PIPES_AS_CONCAT'").kind == Kind::forward);
    CHECK(signals(f.guard.on_command(execute10, f.settings, f.session), "1235",
                  mysql_unenforced_message(
                      "an execute of a prepared UPDATE after a change of sql_mode, character set "
                      "or collation since its prepare (prepare it again), or under an sql_mode the "
                      "proxy did not follow",
                      "app.enroll", "enroll_uniq")));
    // Prepared again under the new mode: checked.
    REQUIRE(f.guard.on_command(prepare, f.settings, f.session).kind == Kind::forward);
    f.guard.on_prepare_answer(util::as_bytes(prepare_ok(11, 0)));
    CHECK(f.guard
              .on_command("\x17" + le32(11) + std::string("\x00\x01\x00\x00\x00", 5), f.settings,
                          f.session)
              .kind == Kind::check);
    // A SET of something else (autocommit) changes nothing of that.
    REQUIRE(f.query("SET autocommit = 0").kind == Kind::forward);
    CHECK(f.guard
              .on_command("\x17" + le32(11) + std::string("\x00\x01\x00\x00\x00", 5), f.settings,
                          f.session)
              .kind == Kind::check);
}
