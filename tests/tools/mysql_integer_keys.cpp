// The proxy's keys of MySQL/MariaDB integer column values (guard/mysql_integer_key), for
// tests/integration/test_mysql_integer_keys.py, which compares them with what the server stores.
//
//   mysql_integer_keys   then lines on stdin: "<form> <bytes> <unsigned 0|1> <text as hex>",
//                        form one of exact approximate string hex bit xstring boolean;
//   prints per line "ok <the value, decimal>" or the status (cannot_normalize, invalid, null).
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include "guard/mysql_integer_key.hpp"

using namespace uniqguard::guard;

namespace {

std::string from_hex(const std::string& hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    return out;
}

}  // namespace

int main() {
    const std::map<std::string, MySqlLiteral> forms = {
        {"exact", MySqlLiteral::exact_number},
        {"approximate", MySqlLiteral::approximate_number},
        {"string", MySqlLiteral::string},
        {"hex", MySqlLiteral::hex_number},
        {"bit", MySqlLiteral::bit},
        {"xstring", MySqlLiteral::hex_string},
        {"boolean", MySqlLiteral::boolean}};
    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream in(line);
        std::string form, hex;
        int bytes = 0, is_unsigned = 0;
        in >> form >> bytes >> is_unsigned;
        in >> hex;  // absent for the empty string
        const MySqlIntegerColumn column{static_cast<std::uint8_t>(bytes), is_unsigned != 0};
        const auto key = mysql_integer_key(column, forms.at(form), from_hex(hex));
        if (!key.ok()) {
            std::printf("%s\n", std::string(to_string(key.status)).c_str());
            continue;
        }
        std::uint64_t word = 0;
        for (unsigned char c : key.bytes) word = (word << 8) | c;
        if (is_unsigned)
            std::printf("ok %llu\n", static_cast<unsigned long long>(word));
        else
            std::printf("ok %lld\n", static_cast<long long>(static_cast<std::int64_t>(word)));
    }
    return 0;
}
