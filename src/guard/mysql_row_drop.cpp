#include "guard/mysql_row_drop.hpp"

#include "guard/mysql_check_sql.hpp"
#include "protocol/mysql/error_codes.hpp"

namespace uniqguard::guard {

std::optional<std::string> mysql_insert_without_rows(std::string_view text,
                                                     std::span<const sql::SourceRange> rows,
                                                     const std::vector<bool>& dropped) {
    if (rows.empty() || dropped.size() != rows.size()) return std::nullopt;
    std::size_t previous_end = 0;
    for (const auto& r : rows) {
        // In order, apart, inside the text: anything else was not cut by the parser.
        if (!r.known() || r.offset < previous_end || r.end() > text.size()) return std::nullopt;
        previous_end = r.end();
    }
    // An executable comment (/*! … */, MariaDB's /*M! … */) among the rows is SQL to the server:
    // a cut could leave its opening or its closing behind, whether the opening is among the
    // rows or before them (`VALUES /*!50000 (1), */ (2)`: only its closing is among them, so
    // the span has more closings than openings). Not cut (a string holding those bytes is
    // refused too: rare, and safe). Plain comments opened and closed among the rows are cut.
    const auto span = text.substr(rows.front().offset, previous_end - rows.front().offset);
    const auto count = [&](std::string_view what) {
        std::size_t n = 0;
        for (auto at = span.find(what); at != std::string_view::npos; at = span.find(what, at + 2))
            ++n;
        return n;
    };
    if (span.find("/*!") != std::string_view::npos || span.find("/*M!") != std::string_view::npos ||
        count("/*") != count("*/"))
        return std::nullopt;
    std::string out(text.substr(0, rows.front().offset));
    bool first = true;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (dropped[i]) continue;
        if (!first) out += ", ";
        out += rows[i].text(text);
        first = false;
    }
    if (first) return std::nullopt;
    out += text.substr(rows.back().end());
    return out;
}

std::string mysql_rows_dropped_sql(std::string_view duplicate_message) {
    return mysql_signal_sql(protocol::mysql::error_code::dup_entry, "01000", duplicate_message);
}

}  // namespace uniqguard::guard
