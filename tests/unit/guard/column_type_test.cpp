#include "guard/column_type.hpp"

#include <catch2/catch.hpp>

using namespace uniqguard::guard;

namespace {
std::optional<ColumnType> named(std::string_view n) { return column_type_from_catalog(n, true); }
}  // namespace

TEST_CASE("TypnamesOfEverySupportedType", "[guard]") {
    CHECK(named("int2")->kind == TypeKind::int2);
    CHECK(named("int4")->kind == TypeKind::int4);
    CHECK(named("int8")->kind == TypeKind::int8);
    CHECK(named("numeric")->kind == TypeKind::numeric);
    CHECK(named("text")->kind == TypeKind::text);
    CHECK(named("varchar")->kind == TypeKind::varchar);
    CHECK(named("bpchar")->kind == TypeKind::bpchar);
    CHECK(named("uuid")->kind == TypeKind::uuid);
    CHECK(named("bool")->kind == TypeKind::boolean);
    CHECK(named("date")->kind == TypeKind::date);
    CHECK(named("timestamp")->kind == TypeKind::timestamp);
    CHECK(named("timestamptz")->kind == TypeKind::timestamptz);
}

TEST_CASE("FormatTypeSpellingsWithModifiers", "[guard]") {
    CHECK(*named("smallint") == ColumnType{.kind = TypeKind::int2});
    CHECK(*named("integer") == ColumnType{.kind = TypeKind::int4});
    CHECK(*named("bigint") == ColumnType{.kind = TypeKind::int8});
    CHECK(*named("boolean") == ColumnType{.kind = TypeKind::boolean});
    CHECK(*named("numeric(10,2)") ==
          ColumnType{.kind = TypeKind::numeric, .precision = 10, .scale = 2});
    CHECK(*named("numeric(5)") == ColumnType{.kind = TypeKind::numeric, .precision = 5});
    CHECK(*named("numeric(3,-2)") ==
          ColumnType{.kind = TypeKind::numeric, .precision = 3, .scale = -2});
    CHECK(*named("character varying(20)") ==
          ColumnType{.kind = TypeKind::varchar, .max_length = 20});
    CHECK(*named("character varying") == ColumnType{.kind = TypeKind::varchar});
    CHECK(*named("character(3)") == ColumnType{.kind = TypeKind::bpchar, .max_length = 3});
    CHECK(*named("char(3)") == ColumnType{.kind = TypeKind::bpchar, .max_length = 3});
    CHECK(*named("timestamp(3) without time zone") ==
          ColumnType{.kind = TypeKind::timestamp, .fractional_digits = 3});
    CHECK(*named("timestamp(0) with time zone") ==
          ColumnType{.kind = TypeKind::timestamptz, .fractional_digits = 0});
    CHECK(*named("timestamp with time zone") == ColumnType{.kind = TypeKind::timestamptz});
    CHECK(*named("  Pg_Catalog.Numeric( 12 , 4 ) ") ==
          ColumnType{.kind = TypeKind::numeric, .precision = 12, .scale = 4});
}

TEST_CASE("ToStringIsFormatTypeAndReadsBack", "[guard]") {
    for (const char* n :
         {"smallint", "integer", "bigint", "numeric", "numeric(10,2)", "text", "character varying",
          "character varying(5)", "bpchar", "character(4)", "uuid", "boolean", "date",
          "timestamp without time zone", "timestamp(3) with time zone"}) {
        INFO(n);
        REQUIRE(named(n));
        CHECK(named(n)->to_string() == n);
        CHECK(*named(named(n)->to_string()) == *named(n));
    }
}

TEST_CASE("TypesTheProxyCannotCompareAreRefused", "[guard]") {
    for (const char* n : {"float8",
                          "double precision",
                          "real",
                          "money",
                          "json",
                          "jsonb",
                          "bytea",
                          "time",
                          "interval",
                          "int4[]",
                          "integer[]",
                          "\"char\"",
                          "char",
                          "name",
                          "citext",
                          "inet",
                          "numeric(1001,0)",
                          "varchar(0)",
                          "numeric(10,2,1)",
                          "int4(3)",
                          "timestamp(",
                          "",
                          "unknown"}) {
        INFO(n);
        CHECK_FALSE(named(n));
    }
}

TEST_CASE("NondeterministicCollationIsRefusedForTextTypesOnly", "[guard]") {
    CHECK_FALSE(column_type_from_catalog("text", false));
    CHECK_FALSE(column_type_from_catalog("character varying(3)", false));
    CHECK_FALSE(column_type_from_catalog("bpchar", false));
    CHECK(column_type_from_catalog("int4", false));  // no collation to speak of
    CHECK(column_type_from_catalog("uuid", false));
}

TEST_CASE("TypnameWithAtttypmod", "[guard]") {
    CHECK(*column_type_from_catalog("varchar", 24, true) ==
          ColumnType{.kind = TypeKind::varchar, .max_length = 20});
    CHECK(*column_type_from_catalog("bpchar", 5, true) ==
          ColumnType{.kind = TypeKind::bpchar, .max_length = 1});
    CHECK(*column_type_from_catalog("varchar", -1, true) == ColumnType{.kind = TypeKind::varchar});
    // numeric(10,2): ((10 << 16) | 2) + VARHDRSZ
    CHECK(*column_type_from_catalog("numeric", (10 << 16 | 2) + 4, true) ==
          ColumnType{.kind = TypeKind::numeric, .precision = 10, .scale = 2});
    // numeric(3,-2): the scale is an 11-bit two's complement field
    CHECK(*column_type_from_catalog("numeric", (3 << 16 | (0x7ff & -2)) + 4, true) ==
          ColumnType{.kind = TypeKind::numeric, .precision = 3, .scale = -2});
    CHECK(*column_type_from_catalog("timestamptz", 3, true) ==
          ColumnType{.kind = TypeKind::timestamptz, .fractional_digits = 3});
    CHECK(*column_type_from_catalog("int4", -1, true) == ColumnType{.kind = TypeKind::int4});
    CHECK_FALSE(column_type_from_catalog("float8", -1, true));
    CHECK_FALSE(column_type_from_catalog("text", -1, false));
}
