#include "protocol/postgres/command_tag.hpp"

#include "protocol/postgres/message_writer.hpp"

namespace uniqguard::protocol::postgres {

std::optional<std::uint64_t> command_count(std::string_view tag) {
    if (!tag.empty() && tag.back() == '\0') tag.remove_suffix(1);
    const auto space = tag.rfind(' ');
    if (space == std::string_view::npos || space + 1 == tag.size()) return std::nullopt;
    std::uint64_t n = 0;
    for (char c : tag.substr(space + 1)) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return n;
}

bool add_to_command_count(std::string& held, std::uint64_t rows) {
    std::size_t at = 0;
    while (at + 5 <= held.size()) {
        const auto* p = reinterpret_cast<const std::uint8_t*>(held.data() + at);
        const std::size_t size = 1 + util::read_u32_be(p + 1);
        if (at + size > held.size()) return false;
        if (held[at] == 'C') {
            const std::string tag = held.substr(at + 5, size - 5);
            const auto count = command_count(tag);
            if (!count) return false;
            std::string_view word(tag);
            word = word.substr(0, word.rfind(' '));
            std::string message;
            MessageWriter(message)
                .begin('C')
                .cstring(std::string(word) + " " + std::to_string(*count + rows))
                .finish();
            held.replace(at, size, message);
            return true;
        }
        at += size;
    }
    return false;
}

}  // namespace uniqguard::protocol::postgres
