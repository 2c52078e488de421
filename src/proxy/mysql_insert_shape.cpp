#include "proxy/mysql_insert_shape.hpp"

#include <algorithm>

#include "guard/mysql_guard_table.hpp"
#include "proxy/mysql_guard_names.hpp"

namespace uniqguard::proxy {

namespace {

constexpr std::size_t npos = static_cast<std::size_t>(-1);

// The token starting at `offset` / ending at `end` (tokens are in text order); npos if none.
std::size_t token_starting_at(const std::vector<sql::MySqlToken>& tokens, std::size_t offset) {
    const auto it =
        std::lower_bound(tokens.begin(), tokens.end(), offset,
                         [](const sql::MySqlToken& t, std::size_t o) { return t.offset < o; });
    return it != tokens.end() && it->offset == offset
               ? static_cast<std::size_t>(it - tokens.begin())
               : npos;
}

std::size_t token_ending_at(const std::vector<sql::MySqlToken>& tokens, std::size_t end) {
    const auto it =
        std::lower_bound(tokens.begin(), tokens.end(), end,
                         [](const sql::MySqlToken& t, std::size_t e) { return t.end() < e; });
    return it != tokens.end() && it->end() == end ? static_cast<std::size_t>(it - tokens.begin())
                                                  : npos;
}

// Where `v` (a key column's value) is in the tokens, when it is a value this path reads.
std::optional<MySqlShapeKeyPart> key_part(const sql::Value& v,
                                          const std::vector<sql::MySqlToken>& tokens) {
    if (!v.literal.known()) return std::nullopt;
    const std::size_t last = token_ending_at(tokens, v.literal.end());
    if (last == npos) return std::nullopt;
    MySqlShapeKeyPart part;
    part.token = static_cast<std::uint32_t>(last);
    if (v.kind == sql::ValueKind::literal_string) {
        // One plain quoted string: N'', an introducer, adjacent strings ('a' 'b'), hex and bit
        // literals are read the full way.
        if (v.form != sql::LiteralForm::quoted || !v.charset_introducer.empty() ||
            tokens[last].kind != sql::MySqlTokenKind::string ||
            token_starting_at(tokens, v.literal.offset) != last)
            return std::nullopt;
        return part;
    }
    if (v.kind == sql::ValueKind::literal_number) {
        // Its signs are tokens of the shape; the parser wrote the sign they amount to.
        if (!sql::is_number_kind(tokens[last].kind) || v.text.empty()) return std::nullopt;
        part.number = true;
        part.negative = v.text.front() == '-';
        return part;
    }
    return std::nullopt;
}

}  // namespace

std::optional<MySqlInsertShapePlan> make_mysql_insert_shape_plan(
    const sql::ParseResult& parsed, std::string_view text,
    const std::vector<sql::MySqlToken>& tokens, const std::vector<guard::GuardState*>& guards) {
    if (!parsed || parsed.statements.size() != 1 || guards.size() != 1 || tokens.empty())
        return std::nullopt;
    const auto& st = parsed.statements.front();
    const auto* insert = st.get<sql::InsertStatement>();
    // A statement that starts with INSERT: not SET STATEMENT … FOR, ANALYZE, REPLACE.
    if (!insert || st.explain_analyze || !sql::is_word(text, tokens.front(), "insert") ||
        insert->replace || insert->on_conflict.action != sql::OnConflict::Action::none ||
        insert->select_source || insert->default_values || insert->has_with ||
        insert->column_indirection || insert->returning || insert->rows.empty())
        return std::nullopt;
    auto* g = guards.front();
    const auto* table = g->mysql_table();
    if (g->state() != guard::GuardLoadState::ready || !table) return std::nullopt;
    const auto& columns = insert->columns.empty() ? table->columns : insert->columns;
    std::vector<std::size_t> position(table->keys.size(), npos);
    for (std::size_t k = 0; k < table->keys.size(); ++k)
        for (std::size_t c = 0; c < columns.size(); ++c)
            if (mysql_names::same_name(columns[c], table->keys.column(k).name)) position[k] = c;

    MySqlInsertShapePlan plan;
    plan.guard = g;
    plan.table = table;
    plan.key_width = table->keys.size();
    for (const auto& row : insert->rows) {
        if (row.size() != columns.size()) return std::nullopt;  // the server's error
        for (std::size_t k = 0; k < plan.key_width; ++k) {
            if (position[k] == npos) return std::nullopt;  // left to its default
            auto part = key_part(row[position[k]], tokens);
            if (!part) return std::nullopt;
            plan.parts.push_back(*part);
        }
    }
    if (plan.key_width == 0) return std::nullopt;
    return plan;
}

}  // namespace uniqguard::proxy
