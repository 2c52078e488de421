// Whether a text contains a word in any ASCII letter case: the cheap test before a parse.
#pragma once

#include <string_view>

namespace uniqguard::util {

// `word` in lower case.
inline bool contains_ignoring_case(std::string_view text, std::string_view word) {
    for (std::size_t i = 0; i + word.size() <= text.size(); ++i) {
        std::size_t k = 0;
        while (k < word.size()) {
            char c = text[i + k];
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
            if (c != word[k]) break;
            ++k;
        }
        if (k == word.size()) return true;
    }
    return false;
}

}  // namespace uniqguard::util
