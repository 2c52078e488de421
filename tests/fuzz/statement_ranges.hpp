// The invariants both SQL parsers' fuzz targets check on a ParseResult: every range inside the
// text, a statement's trimmed range inside its range, parameter numbers from `first_parameter`
// (MySQL numbers its `?` from 1; PostgreSQL's scanner gives any int, see fuzz_pg_sql.cpp).
#pragma once

#include <cstddef>

#include "sql/statement.hpp"

namespace uniqguard::fuzz {

using namespace uniqguard::sql;

inline void check(bool ok) {
    if (!ok) __builtin_trap();
}

inline void check_range(const SourceRange& r, std::size_t size) {
    if (r.known()) check(r.end() <= size);
}

inline void check_value(const Value& v, std::size_t size, int first_parameter) {
    check_range(v.range, size);
    check_range(v.literal, size);
    if (v.kind == ValueKind::parameter) check(v.parameter >= first_parameter);
}

inline void check_statement(const Statement& st, std::size_t size, int first_parameter) {
    check_range(st.range, size);
    check_range(st.trimmed, size);
    if (st.trimmed.known() && st.range.known())
        check(st.trimmed.offset >= st.range.offset && st.trimmed.end() <= st.range.end());
    if (const auto* ins = st.get<InsertStatement>()) {
        for (const auto& row : ins->rows) {
            for (const Value& v : row) check_value(v, size, first_parameter);
        }
        for (const Assignment& a : ins->on_conflict.assignments)
            check_value(a.value, size, first_parameter);
        check_range(ins->returning_list, size);
    } else if (const auto* up = st.get<UpdateStatement>()) {
        for (const Assignment& a : up->assignments) check_value(a.value, size, first_parameter);
        check_range(up->where, size);
    } else if (const auto* del = st.get<DeleteStatement>()) {
        check_range(del->where, size);
    }
}

}  // namespace uniqguard::fuzz
