// Helpers for the [sql] tests: parse one statement and get at its body, with Catch failures
// instead of crashes when the shape is not the expected one.
#pragma once

#include <catch2/catch.hpp>
#include <string>
#include <string_view>

#include "sql/postgres_parser.hpp"
#include "sql/statement.hpp"

namespace uniqguard::sql::test {

// Parses `sql`, which must be exactly one statement of type T.
template <class T>
T only(std::string_view sql) {
    const ParseResult r = parse_postgres(sql);
    INFO(sql);
    INFO("error: " << (r.error ? r.error->message : std::string("none")));
    REQUIRE(r);
    REQUIRE(r.statements.size() == 1);
    const T* body = r.statements[0].get<T>();
    INFO("kind: " << to_string(r.statements[0].kind()));
    REQUIRE(body != nullptr);
    return *body;
}

inline Statement single(std::string_view sql) {
    const ParseResult r = parse_postgres(sql);
    INFO(sql);
    INFO("error: " << (r.error ? r.error->message : std::string("none")));
    REQUIRE(r);
    REQUIRE(r.statements.size() == 1);
    return r.statements[0];
}

// The byte offset of the first occurrence of `needle` in `sql` (a test precondition).
inline std::size_t at(std::string_view sql, std::string_view needle, std::size_t from = 0) {
    const std::size_t i = sql.find(needle, from);
    REQUIRE(i != std::string_view::npos);
    return i;
}

inline SourceRange span_of(std::string_view sql, std::string_view needle, std::size_t from = 0) {
    return {at(sql, needle, from), needle.size()};
}

}  // namespace uniqguard::sql::test
