#include "sql/mysql_leading_words.hpp"

#include <cctype>

namespace uniqguard::sql {

namespace {

// Skips blanks and plain comments (`/* */`, `-- `, `#`); stops at an executable comment.
std::size_t skip_blanks(std::string_view s, std::size_t i) {
    for (;;) {
        while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i])) != 0) ++i;
        if (s.substr(i, 2) == "/*" && s.substr(i, 3) != "/*!" && s.substr(i, 4) != "/*M!") {
            const auto end = s.find("*/", i + 2);
            i = end == std::string_view::npos ? s.size() : end + 2;
        } else if (s.substr(i, 1) == "#" ||
                   (s.substr(i, 2) == "--" &&
                    (i + 2 == s.size() ||
                     std::isspace(static_cast<unsigned char>(s[i + 2])) != 0))) {
            const auto end = s.find('\n', i);
            i = end == std::string_view::npos ? s.size() : end + 1;
        } else {
            return i;
        }
    }
}

}  // namespace

LeadingWords mysql_leading_words(std::string_view sql, std::size_t count) {
    LeadingWords out;
    std::size_t i = 0;
    while (out.words.size() < count) {
        i = skip_blanks(sql, i);
        std::string word;
        while (i < sql.size() &&
               (std::isalnum(static_cast<unsigned char>(sql[i])) != 0 || sql[i] == '_'))
            word += static_cast<char>(std::tolower(static_cast<unsigned char>(sql[i++])));
        if (word.empty()) break;
        out.words.push_back(std::move(word));
    }
    i = skip_blanks(sql, i);
    if (i < sql.size() && sql[i] == ';') i = skip_blanks(sql, i + 1);
    out.rest_is_blank = i == sql.size();
    return out;
}

}  // namespace uniqguard::sql
