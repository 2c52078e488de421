#include "guard/mysql_string_key.hpp"

namespace uniqguard::guard {

namespace {

// Characters in valid UTF-8 (continuation bytes are not counted); the key checks validity.
std::size_t characters(std::string_view utf8) {
    std::size_t n = 0;
    for (unsigned char c : utf8) n += (c & 0xC0) != 0x80;
    return n;
}

}  // namespace

NormalizedValue mysql_string_key(const MySqlStringColumn& column, std::string_view literal,
                                 ClientCharset client) {
    const NormalizedValue left_to_the_server{NormalizeStatus::cannot_normalize, {}};
    if (client == ClientCharset::other || column.weights == nullptr) return left_to_the_server;
    // utf8mb3 has no 4-byte sequences: the server refuses them, or stores '?' for them.
    if (client == ClientCharset::utf8mb3 &&
        literal.find_first_of("\xF0\xF1\xF2\xF3\xF4\xF5\xF6\xF7") != std::string_view::npos)
        return left_to_the_server;
    if (characters(literal) > column.max_chars) return left_to_the_server;
    if (column.max_bytes != 0 && literal.size() > column.max_bytes) return left_to_the_server;
    if (column.fixed_length) {
        const auto last = literal.find_last_not_of(' ');
        literal = last == std::string_view::npos ? std::string_view{} : literal.substr(0, last + 1);
    }
    auto key = column.weights->key(literal);
    if (!key) return left_to_the_server;  // invalid UTF-8: the server refuses or replaces it
    return {NormalizeStatus::ok, std::move(*key)};
}

}  // namespace uniqguard::guard
