#pragma once

// The table most PostgreSQL guard unit tests plan against: enroll (id serial, user_id and
// course_id NOT NULL integers, note text), guarded on (user_id, course_id) as "enroll_key".

#include <catch2/catch.hpp>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "guard/column_type.hpp"
#include "guard/guard_catalog.hpp"
#include "guard/guard_registry.hpp"
#include "proxy/pg_write_plan.hpp"
#include "sql/postgres_parser.hpp"

namespace uniqguard::test {

inline config::Guard enroll_guard(config::GuardAction action = config::GuardAction::reject) {
    config::Guard g;
    g.table = "public.enroll";
    g.columns = {"user_id", "course_id"};
    g.name = "enroll_key";
    g.action = action;
    return g;
}

inline guard::GuardTable enroll_table() {
    guard::GuardTable t;
    t.schema = "public";
    t.name = "enroll";
    t.qualified_sql = "public.enroll";
    t.columns = {{.name = "id",
                  .type_name = "integer",
                  .type_oid = 23,
                  .not_null = true,
                  .has_default = true},
                 {.name = "user_id", .type_name = "integer", .type_oid = 23, .not_null = true},
                 {.name = "course_id", .type_name = "integer", .type_oid = 23, .not_null = true},
                 {.name = "note", .type_name = "text", .type_oid = 25}};
    t.key_columns = {1, 2};
    t.key_types = {guard::ColumnType{.kind = guard::TypeKind::int4},
                   guard::ColumnType{.kind = guard::TypeKind::int4}};
    return t;
}

// A registry with the enroll guard, ready; plan() plans one statement against it.
struct EnrollPlanFixture {
    explicit EnrollPlanFixture(config::GuardAction action = config::GuardAction::reject)
        : registry({enroll_guard(action)}) {
        registry.guards()[0]->set_ready(enroll_table());
    }
    std::optional<proxy::WritePlan> plan(const std::string& sql) {
        text = sql;
        parsed = sql::parse_postgres(text);
        REQUIRE(parsed);
        REQUIRE(parsed.statements.size() == 1);
        return proxy::plan_write(parsed.statements[0], text, registry);
    }
    guard::GuardRegistry registry;
    std::string text;
    sql::ParseResult parsed;
};

}  // namespace uniqguard::test
