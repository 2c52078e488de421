// Keys under a MySQL/MariaDB collation from a table of per-character weights
// (guard/collation_weights.hpp). The tables here are small made-up ones; the real tables, and the
// server's own equality, are tested in tests/integration/test_mysql_collation_keys.py.
#include "guard/collation_weights.hpp"

#include <catch2/catch.hpp>
#include <string>

using uniqguard::guard::CollationWeights;

namespace {
// A case-insensitive two-byte-unit table over a few characters: 'a'/'A' weigh the same, 'ß'
// weighs as "ss", U+200B (zero-width space) weighs nothing, U+00A0 weighs as a space.
CollationWeights small_table(bool pad_space) {
    CollationWeights w(pad_space);
    w.add(U' ', std::string("\x02\x09", 2));
    w.add(U'A', std::string("\x0e\x33", 2));
    w.add(U'S', std::string("\x0f\xea", 2));
    w.add(U'a', std::string("\x0e\x33", 2));
    w.add(U's', std::string("\x0f\xea", 2));
    w.add(0xA0, std::string("\x02\x09", 2));
    w.add(0xDF, std::string("\x0f\xea\x0f\xea", 4));
    w.add(0x200B, "");
    w.add(0x1F600, std::string("\xff\xfd", 2));
    std::string error;
    REQUIRE(w.finish(error));
    return w;
}
}  // namespace

TEST_CASE("A key is the characters' weights, back to back", "[collation]") {
    const auto w = small_table(false);
    CHECK(w.key("aS") == std::string("\x0e\x33\x0f\xea", 4));
    CHECK(w.key("As") == w.key("aS"));
    CHECK(w.key("\xc3\x9f") == w.key("ss"));  // ß weighs as "ss"
    CHECK(w.key("a\xe2\x80\x8b"
                "a") == w.key("aa"));  // U+200B weighs nothing
    CHECK(w.key("") == std::string());
    CHECK(w.key("\xf0\x9f\x98\x80") == std::string("\xff\xfd", 2));
}

TEST_CASE("PAD SPACE drops the space weights at the end, whatever character gave them",
          "[collation]") {
    const auto pad = small_table(true);
    CHECK(pad.key("a  ") == pad.key("a"));
    CHECK(pad.key("a \xc2\xa0") == pad.key("a"));                // a no-break space weighing as one
    CHECK(pad.key("a \xe2\x80\x8b") == pad.key("a"));            // a weightless character after it
    CHECK(pad.key(" a") == std::string("\x02\x09\x0e\x33", 4));  // leading spaces count
    CHECK(pad.key("   ") == std::string());
    const auto nopad = small_table(false);
    CHECK(nopad.key("a ") != nopad.key("a"));
    CHECK(nopad.key("a ") == std::string("\x0e\x33\x02\x09", 4));
}

TEST_CASE("No key without valid UTF-8 or a weight for every character", "[collation]") {
    const auto w = small_table(true);
    CHECK_FALSE(w.key("b"));                 // no weight given for 'b'
    CHECK_FALSE(w.key("a\xc3"));             // truncated sequence
    CHECK_FALSE(w.key("\xc0\xa0"));          // overlong
    CHECK_FALSE(w.key("\xed\xa0\x80"));      // a surrogate
    CHECK_FALSE(w.key("\xf4\x90\x80\x80"));  // past U+10FFFF
    CHECK_FALSE(w.key("\x80"));              // a continuation byte first
}

TEST_CASE("A table the keys cannot be made from is refused", "[collation]") {
    std::string error;
    CollationWeights no_space(true);
    no_space.add(U'a', "\x01\x02");
    CHECK_FALSE(no_space.finish(error));
    CHECK(error == "the server gave no weight for the space");

    CollationWeights odd(true);
    odd.add(U' ', "\x01\x02");
    odd.add(U'a', "\x01\x02\x03");
    CHECK_FALSE(odd.finish(error));
    CHECK(error == "the weight of U+0061 is not a whole number of 2-byte units");

    CollationWeights odd_without_pad(false);  // NO PAD never cuts weights: any width will do
    odd_without_pad.add(U' ', "\x01\x02");
    odd_without_pad.add(U'a', "\x01\x02\x03");
    CHECK(odd_without_pad.finish(error));
}
