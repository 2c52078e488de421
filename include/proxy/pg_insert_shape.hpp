// The common path of a guarded INSERT sent as a simple query with its values inlined (psycopg2,
// Django, pgbench --protocol simple): one statement shape (literal_shape.hpp), ever new values.
// The first text of a shape goes the full way (analysis, WritePlan, PgGuard::decide); what that
// way needed to fingerprint the keys is kept per shape as an InsertShapePlan: for each row and
// key column, which tokens of the text hold the value. A later text of the same shape has its
// keys read straight from its tokens: no parse, no statement model, no WritePlan. When every
// key is new the INSERT passes on this path; anything else (a key already in the key set, a key
// twice in the statement, a key that cannot be fingerprinted, settings other than UTF-8 with
// standard_conforming_strings on) goes the full way, which decides it as it would have anyway.
//
// The plans are kept per worker thread (shape_plan_cache.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "guard/guard_registry.hpp"
#include "proxy/pg_write_plan.hpp"
#include "proxy/shape_plan_cache.hpp"
#include "sql/literal_shape.hpp"

namespace uniqguard::proxy {

struct ShapeKeyPart {
    enum class Kind : std::uint8_t { string, number, boolean, null };
    Kind kind = Kind::null;
    sql::LiteralTokens tokens;  // string, number: where the value is in the shape's tokens
    bool boolean = false;       // boolean: its value
};

struct InsertShapePlan {
    guard::GuardState* guard = nullptr;
    std::size_t key_width = 0;
    std::vector<ShapeKeyPart> parts;  // row by row, each in the guard's key column order
    bool writes_every_row = false;    // WritePlan::writes_every_row
};

// The plan of `plan` (the full path's, for the text whose shape is `shape`); nullopt when the
// statement is outside this path: not a plain INSERT … VALUES of a ready guard, an ON CONFLICT
// target the proxy rewrites, a cast or a parameter in a key column.
std::optional<InsertShapePlan> make_insert_shape_plan(const WritePlan& plan,
                                                      const sql::LiteralShape& shape);

using InsertShapeCache = ShapePlanCache<InsertShapePlan>;

}  // namespace uniqguard::proxy
