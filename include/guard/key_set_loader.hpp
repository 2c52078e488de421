// Loads a guard's key set from the table (SPEC §5 cache mode: "loaded at start from the backend
// by streaming, never by loading the table into one result"; §7: ≥ 1 M keys/s, ≤ 16 bytes per
// key).
//
// The key columns are streamed with `COPY table (k1, k2) TO STDOUT`, or for a partitioned or
// foreign table `COPY (SELECT k1, k2 FROM table) TO STDOUT` (text format; never one big result:
// PgConnection::copy_out hands over one row at a time, split into fields, COPY's escapes
// undone, \N as NULL).
// Before that the loader sets its session so values read unambiguously: DateStyle 'ISO, YMD',
// TimeZone 'UTC', and client_encoding = server_encoding (the key normaliser takes text in the
// server's encoding). These settings stay on `conn` afterwards (it is the proxy's own
// connection). Each value is normalised with its column's ColumnType (key_normalizer.hpp) under
// the matching SessionContext, the parts are encoded in the guard's column order
// (key_fingerprint.hpp: NULL as append_key_null), fingerprinted with `seed`, and added to the
// set in batches (KeySet::add_many, 4096 at a time) — exactly the fingerprint the proxy computes
// for the same key in an INSERT, so a legacy duplicate counts twice (add, not insert).
//
// Which rows: the table and, for a partitioned table, its partitions (an INSERT into the parent
// lands there); for a plain table, only the table itself, not inheritance children: a unique
// index on a parent does not cover its children either.
//
// Memory: when the catalog has a row estimate (GuardTable::estimated_rows), the set is first
// reserved for two thirds of it (KeySet::reserve), which saves most of the rehashing of a
// growing set; see key_set_loader.cpp for why that keeps ≤ 16 bytes per key.
#pragma once

#include <boost/asio.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>

#include "guard/guard_catalog.hpp"
#include "guard/key_set.hpp"
#include "pgclient/connection.hpp"
#include "pgclient/result.hpp"

namespace uniqguard::guard {

struct LoadProgress {
    std::uint64_t rows = 0;  // rows read so far
    std::chrono::steady_clock::duration elapsed{};
};

struct LoadStats {
    std::uint64_t rows = 0;                   // rows of the table read
    std::uint64_t rows_with_null = 0;         // rows whose key has a NULL (not in the set when
                                              // nulls_distinct: they never conflict)
    std::uint64_t distinct_fingerprints = 0;  // fingerprints this load added that were new to
                                              // the set (the distinct keys, bar collisions)
    std::uint64_t unreadable = 0;             // values normalize_text could not read: always 0 in a
                                              // returned LoadStats (any such value fails the load)
    std::chrono::steady_clock::duration elapsed{};
    std::size_t memory_bytes = 0;  // set.memory_bytes() after the load
};

// The COPY statement the loader runs for `table` (for logs and tests).
std::string key_set_copy_sql(const GuardTable& table);

// Streams the key columns of `table` on `conn` and adds their fingerprints to `set` (keys with
// a NULL are skipped when `nulls_distinct`, and counted either way). `on_progress` (may be
// empty) is called about every `progress_interval` with the rows read so far, from inside the
// stream (keep it short; it must not throw).
//
// Errors: connection and server errors of PgConnection (permission denied on the table: 42501;
// a server error leaves `conn` usable); Error::Kind::client when a stored value is one the
// proxy cannot read as the server does (the message names the column, its type, the row and
// how many such values there are, never the value itself: values stay out of logs when
// log.log_values = false) — the proxy cannot compare this column's keys. On any error `set`
// holds whatever was added before it and must not be used as the table's key set (clear it).
boost::asio::awaitable<pgclient::Result<LoadStats>> load_key_set(
    pgclient::PgConnection& conn, const GuardTable& table, bool nulls_distinct, std::uint64_t seed,
    KeySet& set, std::function<void(const LoadProgress&)> on_progress,
    std::chrono::milliseconds progress_interval = std::chrono::seconds(2));

}  // namespace uniqguard::guard
