// The proxy's keys of MySQL/MariaDB integer and DECIMAL column values (guard/mysql_integer_key,
// guard/mysql_decimal_key), for tests/integration/test_mysql_number_keys.py, which compares them
// with what the server stores.
//
//   mysql_number_keys   then lines on stdin: "<form> <column> <text as hex>", form one of
//                       exact approximate string hex bit xstring boolean; column
//                       "int:<bytes>:<unsigned 0|1>" or "dec:<precision>:<scale>:<unsigned>";
//   prints per line "ok <the value, in decimal>" or the status (cannot_normalize, ...).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "guard/mysql_decimal_key.hpp"
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
        std::string form, column, hex;
        in >> form >> column;
        in >> hex;  // absent for the empty string
        const auto literal = forms.at(form);
        const auto text = from_hex(hex);
        std::vector<int> spec;
        for (std::size_t at = column.find(':'); at != std::string::npos;
             at = column.find(':', at + 1))
            spec.push_back(std::stoi(column.substr(at + 1)));
        if (column.starts_with("dec:")) {
            const MySqlDecimalColumn decimal{static_cast<std::uint8_t>(spec[0]),
                                             static_cast<std::uint8_t>(spec[1]), spec[2] != 0};
            const auto key = mysql_decimal_key(decimal, literal, text);
            if (!key.ok()) {
                std::printf("%s\n", std::string(to_string(key.status)).c_str());
                continue;
            }
            // '+'/'-', then the digits of value × 10^scale: put the point back.
            std::string digits = key.bytes.substr(1);
            while (digits.size() < decimal.scale + 1u) digits.insert(digits.begin(), '0');
            if (decimal.scale > 0) digits.insert(digits.size() - decimal.scale, ".");
            std::printf("ok %s%s\n", key.bytes[0] == '-' ? "-" : "", digits.c_str());
            continue;
        }
        const MySqlIntegerColumn integer{static_cast<std::uint8_t>(spec[0]), spec[1] != 0};
        const auto key = mysql_integer_key(integer, literal, text);
        if (!key.ok()) {
            std::printf("%s\n", std::string(to_string(key.status)).c_str());
            continue;
        }
        std::uint64_t word = 0;
        for (unsigned char c : key.bytes) word = (word << 8) | c;
        if (integer.is_unsigned)
            std::printf("ok %llu\n", static_cast<unsigned long long>(word));
        else
            std::printf("ok %lld\n", static_cast<long long>(static_cast<std::int64_t>(word)));
    }
    return 0;
}
