// The proxy's keys of string values under one MySQL/MariaDB collation (guard/collation_weights),
// for tests/integration/test_mysql_collation_keys.py, which compares them with the server's own
// equality.
//
//   collation_keys WEIGHTS PAD [MAX_CHARS FIXED]
//     WEIGHTS: a file of lines "<code point, decimal> <weight, hex>" (the server's WEIGHT_STRING
//              of each one-character string; "-" empty; "!" a character the column's
//              character set cannot hold, which gets no weight), in increasing code point order
//     PAD:     1 for a PAD SPACE collation, 0 for NO PAD
//     MAX_CHARS, FIXED: with them, each value is keyed as a string literal into a column of
//              that many characters, CHAR (FIXED 1) or VARCHAR (0): guard/mysql_string_key
//   then one value per line on stdin, as hex of its UTF-8 bytes; prints its key in hex, or "-"
//   when it has none. The first line printed is "memory <bytes>" (the table's size).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "guard/collation_weights.hpp"
#include "guard/mysql_string_key.hpp"
#include "hex.hpp"

using uniqguard::tools::from_hex;
using uniqguard::tools::to_hex;

int main(int argc, char** argv) {
    if (argc != 3 && argc != 5) {
        std::fprintf(stderr, "usage: collation_keys WEIGHTS PAD [MAX_CHARS FIXED]\n");
        return 2;
    }
    uniqguard::guard::CollationWeights weights(std::string(argv[2]) == "1");
    std::ifstream in(argv[1]);
    unsigned long cp = 0;
    std::string hex;
    while (in >> cp >> hex) {
        if (hex == "!") continue;  // a character the column's set cannot hold: no key
        weights.add(static_cast<char32_t>(cp), from_hex(hex == "-" ? "" : hex));
    }
    std::string error;
    if (!weights.finish(error)) {
        std::fprintf(stderr, "collation_keys: %s\n", error.c_str());
        return 1;
    }
    std::printf("memory %zu\n", weights.memory_bytes());
    std::string line;
    const bool as_literal = argc == 5;
    const uniqguard::guard::MySqlStringColumn column{
        &weights, as_literal ? static_cast<std::uint32_t>(std::stoul(argv[3])) : 0, 0,
        as_literal && std::string(argv[4]) == "1"};
    while (std::getline(std::cin, line)) {
        if (as_literal) {
            const auto key = uniqguard::guard::mysql_string_key(
                column, from_hex(line), uniqguard::guard::ClientCharset::utf8mb4);
            std::printf("%s\n", key.ok() ? to_hex(key.bytes).c_str() : "-");
            continue;
        }
        const auto key = weights.key(from_hex(line));
        std::printf("%s\n", key ? to_hex(*key).c_str() : "-");
    }
    return 0;
}
