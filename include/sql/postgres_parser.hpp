// PostgreSQL statement analysis: libpg_query (the server's own grammar, PostgreSQL 15) behind our
// statement model. No libpg_query type crosses this header.
//
// Cost: a full parse of a one-row INSERT is on the order of 10-20 µs (libpg_query parses,
// serialises its tree to protobuf, we unpack and convert). Callers on the data path first ask
// TableMentionFilter (prefilter.hpp) whether a statement can concern a guarded table at all, and
// cache analyses by statement shape (literal_shape.hpp).
//
// Thread safety: libpg_query 4.x keeps its memory context per thread; parse_postgres may be
// called from several threads at once.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sql/parse_result.hpp"
#include "sql/statement.hpp"

namespace uniqguard::sql {

// Parses one simple-query string (zero or more statements separated by `;`). All ranges in the
// result are byte offsets into `sql`. A string containing a zero byte is refused (the protocol
// cannot carry one; libpg_query would stop there).
ParseResult parse_postgres(std::string_view sql);

// libpg_query's own scanner (pg_query_scan), for cross-checking our lexer and for measurement.
enum class ScanClass {
    keyword,
    identifier,
    string,      // SCONST, USCONST
    bit_string,  // BCONST, XCONST
    integer,     // ICONST
    numeric,     // FCONST
    parameter,
    operator_,
    punctuation,
    comment,
};

struct ScanToken {
    std::size_t offset = 0;
    std::size_t length = 0;
    ScanClass cls = ScanClass::punctuation;
    bool operator==(const ScanToken&) const = default;
};

// nullopt when the scanner reports an error.
std::optional<std::vector<ScanToken>> scan_postgres(std::string_view sql);

}  // namespace uniqguard::sql
