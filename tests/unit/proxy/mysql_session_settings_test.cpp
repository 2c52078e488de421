// A MySQL session's client character set and sql_mode followed from its handshake and its SET
// statements, as the MySQL parser reads them (proxy/mysql_session_settings.hpp).
#include "proxy/mysql_session_settings.hpp"

#include <catch2/catch.hpp>

#include "sql/mysql_parser.hpp"

using namespace uniqguard;
using namespace uniqguard::proxy;
using guard::ClientCharset;

namespace {
void run(MySqlSessionSettings& s, const std::string& sql) {
    const auto parsed = sql::parse_mysql(sql);
    REQUIRE(parsed);
    const auto& st = parsed.statements.at(0);
    if (const auto* set = st.get<sql::SetStatement>())
        s.apply(*set);
    else
        s.apply_other_set(sql);
}

MySqlSessionSettings mariadb_session(std::uint8_t collation_id) {
    return MySqlSessionSettings(collation_id, *sql::dialect_for_server("10.11.6-MariaDB"),
                                "STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION");
}
}  // namespace

TEST_CASE("The handshake's collation id gives the client's character set", "[mysql][settings]") {
    CHECK(client_charset_of_collation_id(45) == ClientCharset::utf8mb4);   // utf8mb4_general_ci
    CHECK(client_charset_of_collation_id(224) == ClientCharset::utf8mb4);  // utf8mb4_unicode_ci
    CHECK(client_charset_of_collation_id(255) == ClientCharset::utf8mb4);  // MySQL 8's default
    CHECK(client_charset_of_collation_id(33) == ClientCharset::utf8mb3);   // utf8_general_ci
    CHECK(client_charset_of_collation_id(8) == ClientCharset::other);      // latin1
    CHECK(client_charset_of_collation_id(63) == ClientCharset::other);     // binary
}

TEST_CASE("SET NAMES and SET character_set_client change it; reset restores the login's",
          "[mysql][settings]") {
    auto s = mariadb_session(45);
    run(s, "SET NAMES latin1");
    CHECK(s.client_charset() == ClientCharset::other);
    run(s, "SET NAMES 'utf8mb4' COLLATE 'utf8mb4_unicode_ci'");
    CHECK(s.client_charset() == ClientCharset::utf8mb4);
    run(s, "SET character_set_client = utf8");
    CHECK(s.client_charset() == ClientCharset::utf8mb3);
    run(s, "SET CHARACTER SET latin1");  // not one variable to the parser: unknown
    CHECK(s.client_charset() == ClientCharset::other);
    s.reset();
    CHECK(s.client_charset() == ClientCharset::utf8mb4);
    run(s, "SET autocommit = 1");
    CHECK(s.client_charset() == ClientCharset::utf8mb4);
}

TEST_CASE("sql_mode's quoting rules, and a value the proxy cannot read", "[mysql][settings]") {
    auto s = mariadb_session(45);
    CHECK_FALSE(s.dialect().ansi_quotes);
    run(s, "SET sql_mode = 'ANSI_QUOTES,NO_BACKSLASH_ESCAPES'");
    CHECK(s.dialect().ansi_quotes);
    CHECK(s.dialect().no_backslash_escapes);
    CHECK(s.sql_mode_known());
    run(s, "SET SESSION sql_mode = ANSI");
    CHECK(s.dialect().ansi_quotes);
    CHECK_FALSE(s.dialect().no_backslash_escapes);
    run(s, "SET sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')");
    CHECK_FALSE(s.sql_mode_known());
    run(s, "SET sql_mode = DEFAULT");
    CHECK(s.sql_mode_known());
    CHECK_FALSE(s.dialect().ansi_quotes);
    run(s, "SET @@sql_mode = 'ANSI', autocommit = 0");  // several at once: unknown
    CHECK_FALSE(s.sql_mode_known());
    run(s, "SET @x = 1");  // a user variable: nothing to follow
    run(s, "SET sql_mode = ''");
    CHECK(s.sql_mode_known());
}
