// SQL text that PostgreSQL 15 evaluates to the values a client sent: literals quoted so that no
// session setting changes how they read, identifiers quoted as the server quotes them, and
// extended-protocol Bind parameters (text or binary format) rewritten as typed SQL expressions.
// The guard builds its PL/pgSQL DO blocks from these. Pure functions: no I/O, no shared state,
// no exceptions.
//
// Binary parameters are decoded from the type's send format and written in the text form the
// type's input function reads back to the same value (numeric keeps its display scale, floats
// their exact bits apart from NaN payloads, timestamptz its instant whatever the session's
// TimeZone; dates and timestamps are written year first, which every DateStyle reads alike).
// What the server's receive function would refuse (wrong length, numeric digits >= 10000, a
// date or timestamp out of range, a NUL byte in text) gives nullopt rather than SQL that the
// server might accept.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace uniqguard::guard {

// `text` as an escape string literal, E'...' with ' and \ doubled: E'' syntax reads the same
// under any standard_conforming_strings (and backslash_quote never matters: ' is written as '').
// Bytes go through unchanged, so UTF-8 stays UTF-8. A NUL byte is copied too: callers never pass
// one (the server cannot hold it), and the statement text would end inside the literal, which
// the server refuses rather than misreads.
std::string quote_literal(std::string_view text);

// As PostgreSQL 15's quote_identifier (ruleutils.c): bare when all of [a-z0-9_], not starting
// with a digit, and not a keyword other than an unreserved one; otherwise "..." with " doubled.
// This reproduces the column list of the server's `Key (user_id, "order")=(...)` detail.
std::string quote_identifier(std::string_view ident);

// A dollar-quote delimiter for `body`: $uniqguard$, or $uniqguard_N$ with the smallest N >= 1,
// such that `tag + body + tag` is one dollar-quoted string (the tag does not occur in the body,
// nor where the body's end runs into the closing tag). Linear in the body's length.
std::string dollar_quote_tag(std::string_view body);

// The name to write after :: for the builtin types the proxy meets ("int4", "timestamptz",
// "\"char\"" for the one-byte type, since a bare char means bpchar). Names are unqualified:
// pg_catalog is searched first unless a session lists it explicitly after another schema.
// nullopt for any other OID.
std::optional<std::string_view> builtin_type_name(std::uint32_t oid);

// A Bind parameter as a SQL expression that evaluates to the value the server gets for it.
// `type_oid` is the parameter type of Parse (0: unspecified).
//   NULL (no value)          NULL, with a cast when the type is a builtin: NULL::int4
//   text, OID 0 or 705       quote_literal(text): untyped, as the server resolves an unspecified
//                            (or unknown) parameter from context
//   text, builtin OID        quote_literal(text) + "::" + name: E'42'::int4
//   binary                   the decoded value's text form, quoted and cast: E'-7'::int8,
//                            E'1.50'::numeric, E'2000-01-01 00:00:00+00'::timestamptz,
//                            E'\\x0aff'::bytea. Types: bool int2 int4 int8 oid float4 float8
//                            numeric text varchar bpchar name uuid date timestamp timestamptz
//                            bytea.
// nullopt: an OID without a builtin name; a binary parameter of any other type, or with OID
// 0/705 (the server reads those bytes with the receive function of the type it infers, which
// the proxy does not know); bytes the receive function refuses; a value containing a NUL byte.
// Text is not checked for valid UTF-8 here.
std::optional<std::string> parameter_as_sql(std::uint32_t type_oid, bool binary_format,
                                            std::optional<std::string_view> value);

}  // namespace uniqguard::guard
