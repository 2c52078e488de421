#pragma once

// The table most PostgreSQL guard unit tests plan against: enroll (id serial, user_id and
// course_id NOT NULL integers, note text), guarded on (user_id, course_id) as "enroll_key".

#include "config/config.hpp"
#include "guard/column_type.hpp"
#include "guard/guard_catalog.hpp"

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

}  // namespace uniqguard::test
