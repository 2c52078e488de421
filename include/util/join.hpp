// Strings joined with a separator between each two: {"a", "b"} and ", " give "a, b".
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace uniqguard::util {

inline std::string join(const std::vector<std::string>& parts, std::string_view separator) {
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i > 0) out += separator;
        out += parts[i];
    }
    return out;
}

}  // namespace uniqguard::util
