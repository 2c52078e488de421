#include "config/env_expand.hpp"

#include <cstdlib>

namespace uniqguard::config {

EnvLookup process_environment() {
    return [](std::string_view name) -> std::optional<std::string> {
        // getenv needs a terminated string; string_view does not promise one.
        const char* value = std::getenv(std::string(name).c_str());
        if (value == nullptr) return std::nullopt;
        return std::string(value);
    };
}

namespace {

bool is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }

bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

bool is_valid_name(std::string_view name) {
    if (name.empty() || !is_name_start(name.front())) return false;
    for (const char c : name) {
        if (!is_name_char(c)) return false;
    }
    return true;
}

Expansion failure(std::string problem) {
    Expansion result;
    result.problem = std::move(problem);
    return result;
}

constexpr std::string_view malformed_reference =
    "\"${\" must start a reference of the form ${NAME} (NAME: letters, digits and '_', not "
    "starting with a digit)";

}  // namespace

Expansion expand_env(std::string_view text, const EnvLookup& env) {
    std::string out;
    out.reserve(text.size());
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t dollar = text.find("${", pos);
        if (dollar == std::string_view::npos) break;
        out.append(text.substr(pos, dollar - pos));

        const std::size_t name_start = dollar + 2;
        const std::size_t close = text.find('}', name_start);
        if (close == std::string_view::npos) return failure(std::string(malformed_reference));
        const std::string_view name = text.substr(name_start, close - name_start);
        if (!is_valid_name(name)) return failure(std::string(malformed_reference));

        const std::optional<std::string> value = env(name);
        if (!value) return failure("environment variable " + std::string(name) + " is not set");
        out.append(*value);
        pos = close + 1;
    }
    out.append(text.substr(pos));

    Expansion result;
    result.value = std::move(out);
    return result;
}

}  // namespace uniqguard::config
