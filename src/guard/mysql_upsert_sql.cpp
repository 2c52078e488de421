#include "guard/mysql_upsert_sql.hpp"

#include <cctype>

namespace uniqguard::guard {

namespace {

bool space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool word_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '$' ||
           static_cast<unsigned char>(c) >= 0x80;
}

bool ends_with_word(std::string_view text, std::string_view word) {
    if (text.size() < word.size()) return false;
    const auto tail = text.substr(text.size() - word.size());
    for (std::size_t i = 0; i < word.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(tail[i])) != word[i]) return false;
    return text.size() == word.size() || !word_char(text[text.size() - word.size() - 1]);
}

std::string_view trim_right(std::string_view s) {
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return s;
}

}  // namespace

std::string mysql_upsert_probe_sql(const MySqlKeyProbe& probe, std::string_view primary_key,
                                   bool locking) {
    const std::string pk = mysql_quote_identifier(primary_key);
    // (0, not '': under EMPTY_STRING_IS_NULL '' is NULL, and CONCAT would be NULL too)
    return "SELECT CONCAT(COUNT(*), ':', IFNULL(MIN(" + pk + "), 0)) FROM " +
           mysql_quote_identifier(probe.schema) + "." + mysql_quote_identifier(probe.table) +
           " WHERE " + mysql_key_condition(*probe.columns, *probe.key) +
           (locking ? " FOR UPDATE" : "");
}

std::string mysql_upsert_probes_sql(const std::vector<MySqlKeyProbe>& probes,
                                    std::string_view primary_key, bool locking) {
    if (probes.size() == 1) return mysql_upsert_probe_sql(probes.front(), primary_key, locking);
    std::string sql = "SELECT CONCAT_WS(','";
    for (const auto& probe : probes) {
        // Each probe is "SELECT …": as a scalar subquery, parenthesised.
        sql += ", (";
        sql += mysql_upsert_probe_sql(probe, primary_key, locking);
        sql += ')';
    }
    sql += ')';
    return sql;
}

std::optional<std::vector<MySqlUpsertProbeAnswer>> parse_mysql_upsert_probes(
    std::string_view answer, std::size_t count) {
    std::vector<MySqlUpsertProbeAnswer> out;
    for (;;) {
        const auto comma = answer.find(',');
        auto one = parse_mysql_upsert_probe(answer.substr(0, comma));
        if (!one || out.size() == count) return std::nullopt;
        out.push_back(std::move(*one));
        if (comma == std::string_view::npos) break;
        answer.remove_prefix(comma + 1);
    }
    if (out.size() != count) return std::nullopt;
    return out;
}

std::optional<MySqlUpsertProbeAnswer> parse_mysql_upsert_probe(std::string_view answer) {
    const auto colon = answer.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 19) return std::nullopt;
    MySqlUpsertProbeAnswer out;
    for (char c : answer.substr(0, colon)) {
        if (c < '0' || c > '9') return std::nullopt;
        out.rows = out.rows * 10 + static_cast<std::uint64_t>(c - '0');
    }
    const auto id = answer.substr(colon + 1);
    const auto digits = !id.empty() && id.front() == '-' ? id.substr(1) : id;
    if (digits.size() > 20) return std::nullopt;
    for (char c : digits)
        if (c < '0' || c > '9') return std::nullopt;
    if (digits.empty()) return std::nullopt;
    if (out.rows > 0) out.row_id.assign(id);  // (no row: the id is a placeholder)
    return out;
}

std::optional<std::string> mysql_upsert_naming_rows(std::string_view text,
                                                    const std::vector<sql::SourceRange>& rows,
                                                    std::string_view primary_key,
                                                    const std::vector<std::string>& row_ids) {
    if (rows.empty() || rows.size() != row_ids.size()) return std::nullopt;
    // An executable comment is SQL to the server: the proxy would not know where text goes.
    if (text.find("/*!") != std::string_view::npos || text.find("/*M!") != std::string_view::npos)
        return std::nullopt;
    std::size_t previous_end = 0;
    for (const auto& row : rows) {
        if (!row.known() || row.end() > text.size() || row.length < 2 || row.offset < previous_end)
            return std::nullopt;
        previous_end = row.end();
        const auto row_text = row.text(text);
        if (row_text.back() != ')') return std::nullopt;
        const auto row_open = row_text.find('(');
        if (row_open == std::string_view::npos ||
            trim_right(row_text.substr(row_open + 1, row_text.size() - row_open - 2)).empty())
            return std::nullopt;
    }
    // `… (cols) VALUES (row)`: the column list closes right before VALUES.
    auto before = trim_right(text.substr(0, rows.front().offset));
    if (ends_with_word(before, "values"))
        before.remove_suffix(6);
    else if (ends_with_word(before, "value"))
        before.remove_suffix(5);
    else
        return std::nullopt;
    before = trim_right(before);
    if (before.empty() || before.back() != ')') return std::nullopt;
    const auto inside = trim_right(before.substr(0, before.size() - 1));
    if (inside.empty() || inside.back() == '(') return std::nullopt;
    const std::size_t list_close = before.size() - 1;
    std::string out(text.substr(0, list_close));
    out += ", " + mysql_quote_identifier(primary_key);
    std::size_t at = list_close;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const std::size_t row_close = rows[i].end() - 1;
        out += text.substr(at, row_close - at);
        out += ", ";
        out += row_ids[i];
        at = row_close;
    }
    out += text.substr(at);
    return out;
}

bool mysql_mentions_word(std::string_view text, std::string_view name) {
    if (name.empty() || text.size() < name.size()) return false;
    for (std::size_t i = 0; i + name.size() <= text.size(); ++i) {
        bool same = true;
        for (std::size_t j = 0; j < name.size() && same; ++j)
            same = std::tolower(static_cast<unsigned char>(text[i + j])) ==
                   std::tolower(static_cast<unsigned char>(name[j]));
        if (!same) continue;
        const bool left = i == 0 || !word_char(text[i - 1]);
        const bool right = i + name.size() == text.size() || !word_char(text[i + name.size()]);
        if (left && right) return true;
    }
    return false;
}

}  // namespace uniqguard::guard
