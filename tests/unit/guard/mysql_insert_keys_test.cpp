// The rows of a parsed MySQL INSERT keyed (guard/mysql_insert_keys.hpp); the server's own
// answers for 1,500 statements are in tests/integration/test_mysql_insert_keys.py.
#include "guard/mysql_insert_keys.hpp"

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "guard/collation_weights.hpp"
#include "sql/mysql_parser.hpp"

using namespace uniqguard;
using namespace uniqguard::guard;

namespace {
MySqlKeyColumns user_id_only(bool nullable) {
    MySqlKeyColumnType id;
    id.kind = MySqlKeyColumnType::Kind::integer;
    id.integer = {4, false};
    id.nullable = nullable;
    return MySqlKeyColumns({{"user_id", id, nullptr}});
}

std::vector<MySqlRowKey> keys_of(const std::string& sql, const MySqlKeyColumns& keys) {
    const auto parsed = sql::parse_mysql(sql);
    REQUIRE(parsed);
    const auto* insert = parsed.statements.at(0).get<sql::InsertStatement>();
    REQUIRE(insert);
    std::string why;
    const auto rows = mysql_insert_row_keys(*insert, sql, {"id", "user_id", "note"}, keys,
                                            ClientCharset::utf8mb4, why);
    REQUIRE(rows);
    return *rows;
}

// A VARCHAR(20) key column whose collation folds ASCII case (enough for these tests).
MySqlKeyColumns email_only() {
    auto w = std::make_shared<CollationWeights>(true);
    for (char32_t c = 0x20; c < 0x7F; ++c)
        w->add(c, std::string(1, (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32)
                                                        : static_cast<char>(c)));
    std::string error;
    REQUIRE(w->finish(error));
    MySqlKeyColumnType email;
    email.kind = MySqlKeyColumnType::Kind::string;
    email.max_chars = 20;
    email.nullable = true;
    return MySqlKeyColumns({{"user_id", email, w}});
}

std::string int_key(std::int64_t v) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i)
        s[static_cast<std::size_t>(i)] =
            static_cast<char>(static_cast<std::uint64_t>(v) >> (56 - 8 * i));
    return s;
}
}  // namespace

TEST_CASE("Each row's key from its literals, wherever the key column is", "[mysql][keys]") {
    const auto keys = user_id_only(true);
    auto rows =
        keys_of("INSERT INTO t (note, user_id) VALUES ('x', 7), ('y', '8'), ('z', NULL)", keys);
    REQUIRE(rows.size() == 3);
    CHECK(rows[0][0].bytes == int_key(7));
    CHECK(rows[1][0].bytes == int_key(8));
    CHECK(rows[2][0].status == NormalizeStatus::null);
    rows = keys_of("INSERT INTO t VALUES (1, 0x10, 'a')", keys);  // the table's column order
    CHECK(rows[0][0].bytes == int_key(16));
    rows = keys_of("INSERT t SET note = 'a', user_id = b'101'", keys);
    CHECK(rows[0][0].bytes == int_key(5));
}

TEST_CASE("What the server decides: X'' strings, expressions, DEFAULT, a NULL it replaces",
          "[mysql][keys]") {
    const auto keys = user_id_only(false);
    const auto cannot = NormalizeStatus::cannot_normalize;
    auto rows = keys_of("INSERT INTO t (user_id) VALUES (X'10'), (1 + 1), (DEFAULT), (NULL)", keys);
    REQUIRE(rows.size() == 4);
    for (const auto& row : rows) CHECK(row[0].status == cannot);
    rows = keys_of("INSERT INTO t (note) VALUES ('no user_id')", keys);
    CHECK(rows[0][0].status == cannot);  // the column's DEFAULT
    const auto parsed = sql::parse_mysql("INSERT INTO t (user_id) SELECT 1");
    std::string why;
    CHECK_FALSE(mysql_insert_row_keys(*parsed.statements[0].get<sql::InsertStatement>(), "", {},
                                      keys, ClientCharset::utf8mb4, why));
    CHECK(why == "the rows come from a query");
}

TEST_CASE("A prepared INSERT's ? values from the execute's parameters", "[mysql][keys][prepared]") {
    namespace my = protocol::mysql;
    const auto keys = user_id_only(true);
    const std::string sql = "INSERT INTO t (note, user_id) VALUES (?, ?), ('x', ?), (?, 4), (?, ?)";
    const auto parsed = sql::parse_mysql(sql);
    REQUIRE(parsed);
    const auto& insert = *parsed.statements.at(0).get<sql::InsertStatement>();
    const std::string seven("\x07\x00\x00\x00\x00\x00\x00\x00", 8), text = "12";
    std::vector<my::ExecuteParam> params(6);
    params[1] = {.type = {my::field_type::longlong, false}, .value = util::as_bytes(seven)};
    params[2] = {.type = {my::field_type::var_string, false}, .value = util::as_bytes(text)};
    params[3].is_null = true;
    params[4].is_null = true;  // NULL in the bitmap (row 4's note)
    params[5] = {.type = {my::field_type::longlong, false}, .long_data = true};
    std::string why;
    const auto rows =
        mysql_insert_row_keys(insert, sql, {}, keys, ClientCharset::utf8mb4, why, params);
    REQUIRE(rows);
    REQUIRE(rows->size() == 4);
    CHECK((*rows)[0][0].bytes == int_key(7));
    CHECK((*rows)[1][0].bytes == int_key(12));  // a string parameter the server reads as 12
    CHECK((*rows)[2][0].bytes == int_key(4));   // a literal of the prepared text
    CHECK((*rows)[3][0].status == NormalizeStatus::cannot_normalize);  // sent as long data
    // Without parameters (a text statement) a ? is the server's to decide.
    const auto text_rows =
        mysql_insert_row_keys(insert, sql, {}, keys, ClientCharset::utf8mb4, why);
    REQUIRE(text_rows);
    CHECK((*text_rows)[0][0].status == NormalizeStatus::cannot_normalize);
}

TEST_CASE("A string with an introducer is read when its bytes mean what the session's mean",
          "[mysql][keys]") {
    // mysql_literal_of on the one value of `INSERT INTO t (user_id) VALUES (<literal>)`.
    auto literal = [](const std::string& literal_sql, ClientCharset session) {
        const std::string sql = "INSERT INTO t (user_id) VALUES (" + literal_sql + ")";
        const auto parsed = sql::parse_mysql(sql);
        REQUIRE(parsed);
        const auto* insert = parsed.statements.at(0).get<sql::InsertStatement>();
        REQUIRE(insert);
        const auto of = mysql_literal_of(insert->rows.at(0).at(0), sql, session);
        return of ? std::optional<std::string>(std::string(of->text)) : std::nullopt;
    };
    using C = ClientCharset;
    CHECK(literal("_utf8mb4'7'", C::utf8mb4) == "7");
    CHECK(literal("_UTF8MB4 'a''b'", C::utf8mb4) == "a'b");
    CHECK(literal("_utf8'\xc3\xa9'", C::utf8mb4) == "\xc3\xa9");  // utf8mb3, BMP: alike
    CHECK(literal("_utf8mb3'\xc3\xa9'", C::utf8mb3) == "\xc3\xa9");
    CHECK(literal("N'x'", C::utf8mb4) == "x");  // N'…' is utf8mb3
    CHECK(literal("_utf8mb4'\xf0\x9f\x98\x80'", C::utf8mb4) == "\xf0\x9f\x98\x80");
    // A 4-byte character: utf8mb3 does not read it, so the two charsets differ.
    CHECK_FALSE(literal("_utf8'\xf0\x9f\x98\x80'", C::utf8mb4));
    CHECK_FALSE(literal("_utf8mb4'\xf0\x9f\x98\x80'", C::utf8mb3));
    // The BMP the other way round, and N'…' on a utf8mb3 session.
    CHECK(literal("_utf8mb4'\xc3\xa9'", C::utf8mb3) == "\xc3\xa9");
    CHECK(literal("N'x'", C::utf8mb3) == "x");
    // Any byte from 0xF0 up (0xF5-0xFF are no UTF-8 at all) keeps the two charsets apart.
    CHECK_FALSE(literal("_utf8'a\xf8'", C::utf8mb4));
    CHECK_FALSE(literal("_utf8'a\xff'", C::utf8mb4));
    // Introducers that convert the bytes or make them binary, and hex/bit literals.
    CHECK_FALSE(literal("_latin1'a'", C::utf8mb4));
    CHECK_FALSE(literal("_binary'a'", C::utf8mb4));
    CHECK_FALSE(literal("_utf8mb4 X'41'", C::utf8mb4));
    CHECK_FALSE(literal("_utf8mb4 b'1'", C::utf8mb4));
    // A session in another character set: nothing introduced is read.
    CHECK_FALSE(literal("_utf8mb4'a'", C::other));
    CHECK(literal("'a'", C::other) == "a");  // (a plain string: the string key decides)
    // And the row's key: '8' with _utf8mb4 keys as 8.
    const auto rows =
        keys_of("INSERT INTO t (user_id) VALUES (_utf8mb4'8'), (_latin1'8')", user_id_only(false));
    CHECK(rows[0][0].bytes == int_key(8));
    CHECK(rows[1][0].status == NormalizeStatus::cannot_normalize);
}

TEST_CASE("EMPTY_STRING_IS_NULL: an empty string parameter is the server's to read",
          "[mysql][keys][prepared]") {
    // MariaDB may read '' bound as a string as NULL under the mode (taken when the types were
    // bound): not keyed then; a non-empty one and, without the mode, '' are keyed.
    namespace my = protocol::mysql;
    const auto keys = email_only();
    const std::string sql = "INSERT INTO t (user_id) VALUES (?), (?)";
    const auto parsed = sql::parse_mysql(sql);
    REQUIRE(parsed);
    const auto& insert = *parsed.statements.at(0).get<sql::InsertStatement>();
    const std::string empty, a = "a";
    std::vector<my::ExecuteParam> params(2);
    params[0] = {.type = {my::field_type::var_string, false}, .value = util::as_bytes(empty)};
    params[1] = {.type = {my::field_type::var_string, false}, .value = util::as_bytes(a)};
    std::string why;
    auto rows =
        mysql_insert_row_keys(insert, sql, {}, keys, ClientCharset::utf8mb4, why, params, true);
    REQUIRE(rows);
    CHECK((*rows)[0][0].status == NormalizeStatus::cannot_normalize);
    CHECK((*rows)[1][0].ok());
    rows = mysql_insert_row_keys(insert, sql, {}, keys, ClientCharset::utf8mb4, why, params, false);
    REQUIRE(rows);
    CHECK((*rows)[0][0].ok());
    CHECK((*rows)[1][0].ok());
    CHECK((*rows)[0][0].bytes != (*rows)[1][0].bytes);
}
