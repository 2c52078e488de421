#include "pgclient/sql_text.hpp"

#include <charconv>

namespace uniqguard::pgclient {

std::string quote_identifier(std::string_view name) {
    std::string out;
    out.reserve(name.size() + 2);
    out += '"';
    for (char c : name) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
    return out;
}

std::string quote_qualified(std::string_view schema, std::string_view name) {
    if (schema.empty()) return quote_identifier(name);
    return quote_identifier(schema) + "." + quote_identifier(name);
}

std::string like_contains_pattern(std::string_view text) {
    std::string out = "%";
    for (char c : text) {
        if (c == '%' || c == '_' || c == '\\') out += '\\';
        out += c;
    }
    out += '%';
    return out;
}

std::string identifier_word_regex(std::string_view word) {
    static constexpr std::string_view metacharacters = "\\^$.|?*+()[]{}";
    std::string out = "(^|[^[:alnum:]_$])";
    for (char c : word) {
        if (metacharacters.find(c) != std::string_view::npos) out += '\\';
        out += c;
    }
    out += "($|[^[:alnum:]_$])";
    return out;
}

namespace {
std::optional<std::vector<int>> parse_ints(std::string_view text, char separator) {
    std::vector<int> out;
    if (text.empty()) return out;
    std::size_t pos = 0;
    for (;;) {
        int value = 0;
        const auto* begin = text.data() + pos;
        const auto* end = text.data() + text.size();
        const auto r = std::from_chars(begin, end, value);
        if (r.ec != std::errc{}) return std::nullopt;
        out.push_back(value);
        pos = static_cast<std::size_t>(r.ptr - text.data());
        if (pos == text.size()) return out;
        if (text[pos] != separator) return std::nullopt;
        ++pos;
    }
}
}  // namespace

std::optional<std::vector<int>> parse_int_vector(std::string_view text) {
    return parse_ints(text, ' ');
}

std::optional<std::vector<int>> parse_int_array(std::string_view text) {
    if (text.empty()) return std::vector<int>{};
    if (text.size() < 2 || text.front() != '{' || text.back() != '}') return std::nullopt;
    return parse_ints(text.substr(1, text.size() - 2), ',');
}

}  // namespace uniqguard::pgclient
