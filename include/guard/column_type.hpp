// The PostgreSQL column types a guard key may use, recognised from the catalog. A key column of
// any other type, or with a nondeterministic collation, is one "the proxy cannot compare"
// (SPEC §4): `column_type_from_catalog` answers nullopt and the guard is refused at start.
//
// Type modifiers matter to key equality, not only to validity: in a varchar(3) column 'ab   '
// is stored as 'ab ' (excess spaces are cut), a numeric(10,2) column stores 1.005 as 1.01, a
// timestamp(0) column rounds to the second. So the catalog's modifier must come along: either
// format_type(atttypid, atttypmod) ("character varying(3)", "numeric(10,2)",
// "timestamp(0) with time zone") or pg_type.typname with pg_attribute.atttypmod.
//
// Collations: under a deterministic collation PostgreSQL's text equality is byte equality (a
// collation that calls two different strings equal is nondeterministic), so deterministic
// collations need nothing more; nondeterministic ones are refused.
//
// Domains are not resolved here: pass the domain's base type (pg_type.typbasetype) and its
// typmod; a domain's CHECK changes validity, never equality.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace uniqguard::guard {

enum class TypeKind : std::uint8_t {
    int2,
    int4,
    int8,
    numeric,
    text,
    varchar,
    bpchar,  // char(n)
    uuid,
    boolean,
    date,
    timestamp,
    timestamptz,
};

// pg_type.typname: "int4", "bpchar", "bool", ...
std::string_view to_string(TypeKind kind);

// The builtin type's OID (pg_type.oid: 23 for int4, 1184 for timestamptz), and back: nullopt
// for every OID that is not one of these types. A table, not a catalog lookup: these run per
// parameter.
std::uint32_t builtin_oid(TypeKind kind);
std::optional<TypeKind> kind_of_builtin_oid(std::uint32_t oid);

struct ColumnType {
    TypeKind kind = TypeKind::text;
    // varchar(n) / char(n): n characters; -1 when unlimited.
    std::int32_t max_length = -1;
    // numeric(p, s): p in 1..1000, s in -1000..1000 (PostgreSQL 15 allows s < 0 and s > p);
    // precision -1 when unconstrained.
    std::int16_t precision = -1;
    std::int16_t scale = 0;
    // timestamp(p) / timestamptz(p): p in 0..6; -1 when not given (microseconds).
    std::int8_t fractional_digits = -1;

    // As format_type writes it: "integer", "numeric(10,2)", "character varying(3)".
    std::string to_string() const;
    bool operator==(const ColumnType&) const = default;
};

// From a type name as the catalog or a config writes it: pg_type.typname ("int4", "varchar",
// "timestamptz"), or format_type's output with its modifiers ("integer", "character
// varying(20)", "numeric(12,2)", "timestamp(3) without time zone"), optionally qualified with
// "pg_catalog.". ASCII case and extra blanks are ignored. A bare "character" (format_type with
// no typmod) is taken as char of unknown length, which is the safe reading; a bare "char" is
// pg_catalog's one-byte "char" type and is refused, as are arrays and every other type.
// `deterministic_collation` is ignored for types that have no collation.
std::optional<ColumnType> column_type_from_catalog(std::string_view type_name,
                                                   bool deterministic_collation);

// From pg_type.typname and pg_attribute.atttypmod (-1: none), the form a catalog query gives
// without format_type.
std::optional<ColumnType> column_type_from_catalog(std::string_view typname, std::int32_t atttypmod,
                                                   bool deterministic_collation);

}  // namespace uniqguard::guard
