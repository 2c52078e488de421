#include "app/audit/quarantine_name.hpp"

#include <catch2/catch.hpp>
#include <string>

using uniqguard::app::audit::quarantine_table_name;

namespace {

std::size_t characters(const std::string& s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

bool valid_utf8_boundaries(const std::string& s) {
    // No character cut: every lead byte is followed by as many continuation bytes as it says.
    for (std::size_t i = 0; i < s.size();) {
        const unsigned char c = s[i];
        const std::size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        if (i + len > s.size()) return false;
        for (std::size_t j = 1; j < len; ++j) {
            if ((static_cast<unsigned char>(s[i + j]) & 0xC0) != 0x80) return false;
        }
        i += len;
    }
    return true;
}

}  // namespace

TEST_CASE("a short table name gets the plain suffix", "[dedupe]") {
    CHECK(quarantine_table_name("courses_enroll", 63, true) ==
          "courses_enroll__uniqguard_quarantine");
    CHECK(quarantine_table_name("courses_enroll", 64, false) ==
          "courses_enroll__uniqguard_quarantine");
}

TEST_CASE("a name that just fits is left whole; one byte more is shortened", "[dedupe]") {
    const std::string fits(63 - 22, 'a');  // 41 + 22 = 63 bytes
    CHECK(quarantine_table_name(fits, 63, true) == fits + "__uniqguard_quarantine");
    const std::string longer(42, 'a');
    const std::string name = quarantine_table_name(longer, 63, true);
    CHECK(name.size() == 63);
    CHECK(name.substr(0, 32) == std::string(32, 'a'));
    CHECK(name[32] == '_');
    CHECK(name.substr(41) == "__uniqguard_quarantine");
}

TEST_CASE("long names sharing a prefix get different quarantine tables", "[dedupe]") {
    const std::string base(80, 'x');
    const std::string a = quarantine_table_name(base + "_one", 63, true);
    const std::string b = quarantine_table_name(base + "_two", 63, true);
    CHECK(a != b);
    CHECK(a.size() == 63);
    CHECK(b.size() == 63);
    CHECK(quarantine_table_name(base + "_one", 63, true) == a);  // stable
}

TEST_CASE("multibyte names are never cut inside a character", "[dedupe]") {
    std::string name = "a";
    for (int i = 0; i < 50; ++i) name += "\xC3\xA9";  // é, 2 bytes
    // PostgreSQL counts bytes: 32 for the table's part, and 'a' + 15 é is 31 (one more é
    // would cut it).
    const std::string pg = quarantine_table_name(name, 63, true);
    CHECK(pg.size() == 62);
    CHECK(valid_utf8_boundaries(pg));
    CHECK(pg.substr(0, 31) == name.substr(0, 31));
    CHECK(pg[31] == '_');

    // MySQL counts characters: 64 of them, whatever their bytes (33 of the table's name).
    const std::string my = quarantine_table_name(name, 64, false);
    CHECK(characters(my) == 64);
    CHECK(valid_utf8_boundaries(my));
    CHECK(my.substr(0, 65) == name.substr(0, 65));
    CHECK(my[65] == '_');
    // A name that fits in characters but not in bytes is left whole on MySQL.
    const std::string short_name = name.substr(0, 81);  // 'a' + 40 é: 41 + 22 characters
    CHECK(quarantine_table_name(short_name, 64, false) == short_name + "__uniqguard_quarantine");
}
