// The proxy's keys of MySQL/MariaDB integer and DECIMAL column values (guard/mysql_integer_key,
// guard/mysql_decimal_key), for tests/integration/test_mysql_number_keys.py, which compares them
// with what the server stores.
//
//   mysql_number_keys   then lines on stdin: "<form> <column> <text as hex>", form one of
//                       exact approximate string hex bit xstring boolean, or
//                       "param:<field type>:<unsigned 0|1>" for a COM_STMT_EXECUTE parameter
//                       (the text is then its binary value: guard/mysql_param_key); column
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
#include "guard/mysql_param_key.hpp"
#include "hex.hpp"

using namespace uniqguard::guard;

using uniqguard::tools::from_hex;

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
        const auto text = from_hex(hex);
        const auto numbers_in = [](const std::string& s) {
            std::vector<int> n;
            for (std::size_t at = s.find(':'); at != std::string::npos; at = s.find(':', at + 1))
                n.push_back(std::stoi(s.substr(at + 1)));
            return n;
        };
        const auto spec = numbers_in(column);
        const bool is_param = form.starts_with("param:");
        const auto param = numbers_in(form);
        const uniqguard::protocol::mysql::ParamType param_type{
            is_param ? static_cast<std::uint8_t>(param[0]) : std::uint8_t{0},
            is_param && param[1] != 0};
        const auto literal = is_param ? MySqlLiteral::string : forms.at(form);
        if (column.starts_with("dec:")) {
            const MySqlDecimalColumn decimal{static_cast<std::uint8_t>(spec[0]),
                                             static_cast<std::uint8_t>(spec[1]), spec[2] != 0};
            const auto key = is_param ? mysql_decimal_param_key(decimal, param_type,
                                                                uniqguard::util::as_bytes(text))
                                      : mysql_decimal_key(decimal, literal, text);
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
        const auto key =
            is_param ? mysql_integer_param_key(integer, param_type, uniqguard::util::as_bytes(text))
                     : mysql_integer_key(integer, literal, text);
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
