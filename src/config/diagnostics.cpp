#include "config/diagnostics.hpp"

namespace uniqguard::config {

void Diagnostics::report(std::uint32_t line, std::string_view key, std::string_view problem,
                         std::string_view allowed) {
    if (failed()) return;
    std::string message = source_name_ + ":" + std::to_string(line) + ": ";
    if (!key.empty()) {
        message.append(key);
        message.append(": ");
    }
    message.append(problem);
    if (!allowed.empty()) {
        message.append("; allowed: ");
        message.append(allowed);
    }
    first_ = LoadError{std::move(message)};
}

}  // namespace uniqguard::config
