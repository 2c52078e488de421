// The shape path of a guarded INSERT (pg_insert_shape.hpp): a plan made from the full path's
// WritePlan, keys read from the tokens exactly as a parse reads them, and PgGuard passing a
// statement on this path only when every key is new.
#include "proxy/pg_insert_shape.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "protocol/postgres/frontend_messages.hpp"
#include "protocol/postgres/reply_tracker.hpp"
#include "protocol/postgres/session_settings.hpp"
#include "proxy/pg_guard.hpp"
#include "sql/postgres_parser.hpp"

using namespace uniqguard;
using namespace uniqguard::proxy;
namespace pg = uniqguard::protocol::postgres;

namespace {
config::Guard enroll_guard() {
    config::Guard g;
    g.table = "public.enroll";
    g.columns = {"user_id", "course_id"};
    g.name = "enroll_key";
    return g;
}

guard::GuardTable enroll_table() {
    guard::GuardTable t;
    t.schema = "public";
    t.name = "enroll";
    t.qualified_sql = "public.enroll";
    t.columns = {{.name = "user_id", .type_name = "bigint", .type_oid = 20, .not_null = true},
                 {.name = "course_id", .type_name = "text", .type_oid = 25, .not_null = true},
                 {.name = "note", .type_name = "text", .type_oid = 25}};
    t.key_columns = {0, 1};
    t.key_types = {guard::ColumnType{.kind = guard::TypeKind::int8},
                   guard::ColumnType{.kind = guard::TypeKind::text}};
    return t;
}

struct Planned {
    std::string text;
    sql::ParseResult parsed;
    sql::LiteralShape shape;
    std::optional<WritePlan> write;
    std::optional<InsertShapePlan> plan;
};

Planned plan_of(const guard::GuardRegistry& registry, const std::string& text) {
    Planned p;
    p.text = text;
    p.parsed = sql::parse_postgres(p.text);
    REQUIRE(p.parsed);
    REQUIRE(p.parsed.statements.size() == 1);
    p.shape = sql::literal_shape(p.text);
    p.write = plan_write(p.parsed.statements[0], p.text, registry);
    if (p.write) p.plan = make_insert_shape_plan(*p.write, p.shape);
    return p;
}
}  // namespace

TEST_CASE("Shape plan: each key part names its literal tokens", "[pg_insert_shape]") {
    guard::GuardRegistry registry({enroll_guard()});
    registry.guards()[0]->set_ready(enroll_table());
    auto p = plan_of(registry,
                     "INSERT INTO enroll (course_id, note, user_id) VALUES ('a', 'n', 7), "
                     "(E'b\\'c', NULL, - 5), (NULL, 'x', 00012)");
    REQUIRE(p.plan);
    CHECK(p.plan->guard == registry.guards()[0].get());
    REQUIRE(p.plan->key_width == 2);
    REQUIRE(p.plan->parts.size() == 6);
    using K = ShapeKeyPart::Kind;
    const std::vector<K> kinds = {K::number, K::string, K::number, K::string, K::number, K::null};
    const std::vector<std::string> texts = {"7", "a", "-5", "b'c", "12", ""};
    for (std::size_t i = 0; i < kinds.size(); ++i) {
        INFO("part " << i);
        CHECK(p.plan->parts[i].kind == kinds[i]);
        if (kinds[i] == K::null) continue;
        std::string text;
        REQUIRE(sql::read_literal(
            p.text, p.shape,
            kinds[i] == K::string ? sql::ValueKind::literal_string : sql::ValueKind::literal_number,
            p.plan->parts[i].tokens, text));
        CHECK(text == texts[i]);
    }
    // "- 5": two tokens, the sign and the number.
    CHECK(p.plan->parts[2].tokens.last == p.plan->parts[2].tokens.first + 1);
}

TEST_CASE("Shape plan: only plain INSERT … VALUES of a ready guard", "[pg_insert_shape]") {
    guard::GuardRegistry registry({enroll_guard()});
    {
        auto loading = plan_of(registry, "INSERT INTO enroll VALUES (1, 'a')");
        REQUIRE(loading.write);
        CHECK(loading.write->kind == WritePlan::Kind::unready);
        CHECK_FALSE(loading.plan);
    }
    registry.guards()[0]->set_ready(enroll_table());
    CHECK(plan_of(registry, "INSERT INTO enroll VALUES (1, 'a')").plan);
    CHECK(plan_of(registry, "INSERT INTO enroll VALUES (true, $$a$$)").plan);
    for (const char* outside : {
             "INSERT INTO enroll VALUES (1::int8, 'a')",   // a cast
             "INSERT INTO enroll VALUES (1, 'a'::text)",   // a cast
             "INSERT INTO enroll VALUES ($1, 'a')",        // a parameter
             "INSERT INTO enroll VALUES (DEFAULT, 'a')",   // refused
             "INSERT INTO enroll VALUES (1, upper('a'))",  // refused
             "INSERT INTO enroll VALUES (1, B'1')",        // a bit string
             "INSERT INTO enroll VALUES (1, 'a') ON CONFLICT (user_id, course_id) DO NOTHING",
             "UPDATE enroll SET user_id = 1, course_id = 'a' WHERE note = 'x'",
         }) {
        INFO(outside);
        auto p = plan_of(registry, outside);
        CHECK_FALSE(p.plan);
    }
}

TEST_CASE("read_literal reads what the parser reads", "[pg_insert_shape]") {
    // A string and a number literal in an INSERT row: read from the tokens as the parser read
    // them into the statement model (signs, leading zeros, int32 overflow, every string form).
    const std::vector<std::pair<std::string, std::string>> values = {
        {"'plain'", "0"},
        {"E'\\x41\\n'", "-17"},
        {"U&'\\0041b'", "2147483647"},
        {"$$dollar'$$", "2147483648"},
        {"'it''s'", "-2147483648"},
        {"E'\\\\'", "0012"},
        {"$t$x$t$", "9223372036854775808"},
    };
    for (const auto& [string_literal, number] : values) {
        const std::string insert = "INSERT INTO t VALUES (" + string_literal + ", " + number + ")";
        INFO(insert);
        auto ins = sql::parse_postgres(insert);
        REQUIRE(ins);
        const auto& row = std::get<sql::InsertStatement>(ins.statements[0].body).rows.at(0);
        const auto ins_shape = sql::literal_shape(insert);
        for (const auto& v : row) {
            auto tokens = sql::literal_tokens(ins_shape, v.literal);
            REQUIRE(tokens);
            std::string read;
            REQUIRE(sql::read_literal(insert, ins_shape, v.kind, *tokens, read));
            CHECK(read == v.text);
        }
    }
}

TEST_CASE("PgGuard passes an INSERT of a known shape only when every key is new",
          "[pg_insert_shape]") {
    guard::GuardRegistry registry({enroll_guard()});
    registry.guards()[0]->set_ready(enroll_table());
    auto& g = *registry.guards()[0];
    pg::SessionSettings settings;
    settings.time_zone = "UTC";
    settings.date_style = "ISO, MDY";
    SessionIdentity identity{"127.0.0.1:1", "u", "app"};
    PgGuard guard(&registry, nullptr, identity, settings);
    // Sends one query; true when it goes to the server as it is (no check around it). The
    // server's replies do not matter here: only what the guard decides and adds.
    auto query = [&](const std::string& sql) {
        std::string wire, out;
        pg::append_query(wire, sql);
        const auto raw = util::as_bytes(wire);
        pg::ReplyTracker tracker;
        return !guard.on_client_message('Q', raw.subspan(5), raw, out, tracker, false).replaced;
    };
    const auto passed_before = g.counters().passed.load();
    CHECK(query("INSERT INTO enroll (user_id, course_id) VALUES (1, 'a'), (2, 'b')"));  // full path
    CHECK(g.keys().size() == 2);
    // The first text left its shape's plan for the next ones.
    const std::string next = "INSERT INTO enroll (user_id, course_id) VALUES (3, 'c'), (4, 'd')";
    const auto* known =
        InsertShapeCache::of_this_thread().find(registry, sql::literal_shape(next).key);
    REQUIRE(known);
    REQUIRE(*known);
    CHECK((*known)->parts.size() == 4);
    CHECK(g.counters().shape_passes.load() == 0);
    CHECK(query(next));  // shape path
    CHECK(g.keys().size() == 4);
    CHECK(g.counters().passed.load() == passed_before + 2);
    CHECK(g.counters().shape_passes.load() == 1);
    // A key already present: checked with the server.
    CHECK_FALSE(query("INSERT INTO enroll (user_id, course_id) VALUES (5, 'e'), (1, 'a')"));
    // The same key twice in one statement: checked.
    CHECK_FALSE(query("INSERT INTO enroll (user_id, course_id) VALUES (6, 'f'), (6, 'f')"));
    // Equal keys written differently are one key: 007 = 7, E'\x61' = 'a'.
    CHECK(query("INSERT INTO enroll (user_id, course_id) VALUES (7, 'x'), (8, 'y')"));
    CHECK_FALSE(query("INSERT INTO enroll (user_id, course_id) VALUES (9, 'z'), (007, 'x')"));
    CHECK_FALSE(query("INSERT INTO enroll (user_id, course_id) VALUES (10, 'z'), (1, E'\\x61')"));
    // A NULL in the key never conflicts (nulls distinct): passes, adds nothing for that row.
    const auto keys = g.keys().size();
    CHECK(query("INSERT INTO enroll (user_id, course_id) VALUES (11, 'n'), (NULL, 'a')"));
    CHECK(g.keys().size() == keys + 1);
    // Passed on this path: `next` and (7, 'x'); the others went the full way (a NULL is a
    // shape of its own: the first of it too).
    CHECK(g.counters().shape_passes.load() == 2);
}
