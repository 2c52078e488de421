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
                                 bool utf8_connection) {
    const NormalizedValue left_to_the_server{NormalizeStatus::cannot_normalize, {}};
    if (!utf8_connection || column.weights == nullptr) return left_to_the_server;
    if (characters(literal) > column.max_chars) return left_to_the_server;
    if (column.fixed_length) {
        const auto last = literal.find_last_not_of(' ');
        literal = last == std::string_view::npos ? std::string_view{} : literal.substr(0, last + 1);
    }
    auto key = column.weights->key(literal);
    if (!key) return left_to_the_server;  // invalid UTF-8: the server refuses or replaces it
    return {NormalizeStatus::ok, std::move(*key)};
}

}  // namespace uniqguard::guard
