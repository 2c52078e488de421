// The token-walking helpers shared by the MySQL statement readers.
#include "parse_context.hpp"

namespace uniqguard::sql::mysql {

std::size_t Context::skip_group(std::size_t i) const {
    if (!symbol(i, "(")) return npos;
    int depth = 0;
    for (; i < last_; ++i) {
        if (symbol(i, "(")) {
            ++depth;
        } else if (symbol(i, ")")) {
            if (--depth == 0) return i + 1;
        }
    }
    return npos;
}

std::size_t Context::find_word(std::size_t i, std::size_t to, std::string_view lower_word) const {
    int depth = 0;
    for (; i < to && i < last_; ++i) {
        if (symbol(i, "(")) {
            ++depth;
        } else if (symbol(i, ")")) {
            --depth;
        } else if (depth == 0 && word(i, lower_word)) {
            return i;
        }
    }
    return npos;
}

std::vector<std::pair<std::size_t, std::size_t>> Context::split_commas(std::size_t from,
                                                                       std::size_t to) const {
    std::vector<std::pair<std::size_t, std::size_t>> out;
    int depth = 0;
    std::size_t start = from;
    for (std::size_t i = from; i < to; ++i) {
        if (symbol(i, "(")) {
            ++depth;
        } else if (symbol(i, ")")) {
            --depth;
        } else if (depth == 0 && symbol(i, ",")) {
            out.emplace_back(start, i);
            start = i + 1;
        }
    }
    out.emplace_back(start, to);
    return out;
}

std::size_t Context::dotted_name(std::size_t i, std::vector<std::string>& parts) const {
    parts.clear();
    if (!is_name(i)) return npos;
    parts.push_back(name(i));
    ++i;
    while (parts.size() < 3 && symbol(i, ".") && is_name(i + 1)) {
        parts.push_back(name(i + 1));
        i += 2;
    }
    return i;
}

std::string node_name(const Context& ctx, std::size_t i) {
    if (ctx.symbol(i, "(")) return "select_stmt";
    if (!ctx.kind_is(i, MySqlTokenKind::identifier)) return "unknown_stmt";
    std::string out;
    for (char c : ctx.text(i)) {
        out.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
    }
    return out + "_stmt";
}

}  // namespace uniqguard::sql::mysql
