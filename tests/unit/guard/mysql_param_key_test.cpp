// Keys from COM_STMT_EXECUTE parameters (guard/mysql_param_key.hpp); the server's own answers
// for thousands more are in tests/integration/test_mysql_number_keys.py.
#include "guard/mysql_param_key.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <string>

using namespace uniqguard::guard;
namespace t = uniqguard::protocol::mysql::field_type;
using uniqguard::protocol::mysql::ParamType;
using uniqguard::util::as_bytes;

namespace {
std::string le_double(double d) {
    std::string s(8, '\0');
    std::memcpy(s.data(), &d, 8);  // x86-64 and every platform Debian builds MariaDB on: LE
    return s;
}
std::string int_key(std::int64_t v) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i)
        s[i] = static_cast<char>(static_cast<std::uint64_t>(v) >> (56 - 8 * i));
    return s;
}
}  // namespace

TEST_CASE("Binary integers of every width, signed and UNSIGNED", "[mysql][keys]") {
    const MySqlIntegerColumn bigint{8, false};
    CHECK(mysql_integer_param_key(bigint, {t::tiny, false}, as_bytes(std::string("\xff"))).bytes ==
          int_key(-1));
    CHECK(mysql_integer_param_key(bigint, {t::tiny, true}, as_bytes(std::string("\xff"))).bytes ==
          int_key(255));
    CHECK(mysql_integer_param_key(bigint, {t::short_, false}, as_bytes(std::string("\x00\x80", 2)))
              .bytes == int_key(-32768));
    CHECK(mysql_integer_param_key(bigint, {t::longlong, true}, as_bytes(std::string(8, '\xff')))
              .status == NormalizeStatus::cannot_normalize);  // 2^64 - 1 > BIGINT's range
    CHECK(mysql_integer_param_key(bigint, {t::long_, false}, as_bytes(std::string("\x01\x02")))
              .status == NormalizeStatus::cannot_normalize);  // wrong width
}

TEST_CASE("DOUBLE, NEWDECIMAL and string parameters", "[mysql][keys]") {
    const MySqlIntegerColumn int_column{4, false};
    CHECK(
        mysql_integer_param_key(int_column, {t::double_, false}, as_bytes(le_double(2.5))).bytes ==
        int_key(2));  // half to even, as a DOUBLE literal
    CHECK(mysql_integer_param_key(int_column, {t::newdecimal, false}, as_bytes(std::string("2.5")))
              .bytes == int_key(3));
    CHECK(mysql_integer_param_key(int_column, {t::var_string, false}, as_bytes(std::string(" 7 ")))
              .bytes == int_key(7));
    CHECK(mysql_integer_param_key(int_column, {t::float_, false}, as_bytes(std::string(4, '\0')))
              .status == NormalizeStatus::cannot_normalize);
    const MySqlDecimalColumn money{6, 2, false};
    CHECK(mysql_decimal_param_key(money, {t::double_, false}, as_bytes(le_double(2.345))).bytes ==
          "+235");
}

TEST_CASE("String parameters, and BLOB-bound ones left to the server", "[mysql][keys]") {
    CollationWeights w(false);
    for (char32_t c = 0x20; c < 0x7F; ++c) w.add(c, std::string(1, static_cast<char>(c)));
    std::string error;
    REQUIRE(w.finish(error));
    const MySqlStringColumn varchar{&w, 10, 0, false};
    CHECK(mysql_string_param_key(varchar, {t::var_string, false}, as_bytes(std::string("ab")),
                                 ClientCharset::utf8mb4)
              .bytes == "ab");
    // Binary to the server: stored byte for byte in the column's character set (not known here).
    for (const auto blob : {t::tiny_blob, t::medium_blob, t::long_blob, t::blob})
        CHECK(mysql_string_param_key(varchar, {blob, false}, as_bytes(std::string("ab")),
                                     ClientCharset::utf8mb4)
                  .status == NormalizeStatus::cannot_normalize);
}
