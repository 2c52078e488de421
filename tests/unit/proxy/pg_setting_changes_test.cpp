#include "proxy/pg_setting_changes.hpp"

#include <catch2/catch.hpp>

using uniqguard::proxy::may_change_read_settings;

TEST_CASE("changes of the settings values are read under") {
    CHECK(may_change_read_settings("SET standard_conforming_strings = off"));
    CHECK(may_change_read_settings("set session TimeZone to 'Europe/Paris'"));
    CHECK(may_change_read_settings("SET LOCAL \"DateStyle\" = 'SQL, DMY'"));
    CHECK(may_change_read_settings("SET TIME ZONE 'UTC'"));
    CHECK(may_change_read_settings("SET NAMES 'LATIN1'"));
    CHECK(may_change_read_settings("RESET client_encoding"));
    CHECK(may_change_read_settings("RESET ALL"));
    CHECK(may_change_read_settings("DISCARD ALL"));
    CHECK(may_change_read_settings("SELECT pg_catalog.set_config('TimeZone', 'UTC', false)"));
    CHECK(may_change_read_settings("BEGIN; SET LOCAL timezone = 'UTC'; INSERT INTO t VALUES (1)"));
    CHECK(may_change_read_settings("DO $$BEGIN SET timezone = 'UTC'; END$$"));
    CHECK(may_change_read_settings(" /* c */ SET datestyle = ISO"));
}

TEST_CASE("texts that change none of them") {
    CHECK_FALSE(may_change_read_settings("INSERT INTO t VALUES (1)"));
    CHECK_FALSE(may_change_read_settings("UPDATE t SET zone = 'x' WHERE names = 1"));
    CHECK_FALSE(may_change_read_settings("SELECT now() AT TIME ZONE 'UTC'"));
    CHECK_FALSE(may_change_read_settings("SET application_name = 'timezone'"));
    CHECK_FALSE(may_change_read_settings("SET search_path = public"));
    CHECK_FALSE(may_change_read_settings("SELECT 'SET timezone = 1'"));
    CHECK_FALSE(may_change_read_settings("RESET search_path"));
    CHECK_FALSE(may_change_read_settings("DO $$BEGIN PERFORM 1; END$$"));
}

TEST_CASE("set_config is a change only of the settings values are read under") {
    CHECK(may_change_read_settings("SELECT set_config('TimeZone', 'UTC', true)"));
    CHECK(may_change_read_settings("SELECT set_config($1, $2, false)"));  // not known
    CHECK_FALSE(may_change_read_settings("SELECT set_config('app.tenant', '5', true)"));
}

TEST_CASE("statements that end or roll back a transaction") {
    using uniqguard::proxy::may_end_transaction;
    for (const char* sql :
         {"COMMIT", "end", "ROLLBACK", "rollback to savepoint s", "ABORT",
          "PREPARE TRANSACTION 'x'", "SELECT 1; COMMIT; INSERT INTO t VALUES (1)"})
        CHECK(may_end_transaction(sql));
    for (const char* sql : {"BEGIN", "SAVEPOINT s", "SELECT 'commit'", "PREPARE p AS SELECT 1",
                            "INSERT INTO t SELECT CASE WHEN true THEN 1 END"})
        CHECK_FALSE(may_end_transaction(sql));
}
