// The common path of a guarded MySQL INSERT sent as a COM_QUERY with its values inlined
// (PyMySQL, mysqlclient, Django, sysbench's text mode): one statement shape
// (sql/mysql_shape.hpp), ever new values. The first text of a shape goes the full way (parse,
// MySqlGuard::on_statements); where its key values are is kept per shape as a
// MySqlInsertShapePlan: for each row and key column, the token that holds the value. A later
// text of the same shape has its keys read straight from its tokens: no parse, no statement
// model (MySqlGuard::passes_by_shape). When every key is new the INSERT passes on this path;
// anything else (a key already in the key set, a key twice in the statement, a key held by
// another session, a value the proxy cannot key) goes the full way, which decides it as it
// would have anyway.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "guard/guard_registry.hpp"
#include "proxy/shape_plan_cache.hpp"
#include "sql/mysql_lexer.hpp"
#include "sql/parse_result.hpp"

namespace uniqguard::guard {
struct MySqlGuardTable;
}

namespace uniqguard::proxy {

struct MySqlShapeKeyPart {
    std::uint32_t token = 0;  // the string or number token holding the value
    bool number = false;      // a number (else a quoted string without introducer)
    bool negative = false;    // a number whose signs amount to a minus
};

struct MySqlInsertShapePlan {
    guard::GuardState* guard = nullptr;
    // The table description the value positions were worked out from (a new one, after the
    // guard's table is read again, may order its columns otherwise).
    const guard::MySqlGuardTable* table = nullptr;
    std::size_t key_width = 0;
    std::vector<MySqlShapeKeyPart> parts;  // row by row, each in the key column order
};

// The plan for `parsed`, the full parse of `text` (lexed into `tokens`), whose INSERT's table
// has the guards `guards`; nullopt when it is outside this path: not one plain INSERT … VALUES
// (REPLACE, ON DUPLICATE KEY UPDATE, … SELECT, RETURNING, SET STATEMENT, ANALYZE, several
// statements), not exactly one guard, a key value other than a plain quoted string or a signed
// number (NULL, DEFAULT, an expression, an introducer, a hex or bit literal, a left-out column).
std::optional<MySqlInsertShapePlan> make_mysql_insert_shape_plan(
    const sql::ParseResult& parsed, std::string_view text,
    const std::vector<sql::MySqlToken>& tokens, const std::vector<guard::GuardState*>& guards);

using MySqlInsertShapeCache = ShapePlanCache<MySqlInsertShapePlan>;

}  // namespace uniqguard::proxy
