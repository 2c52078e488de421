#include "guard/key_set_loader.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "guard/key_fingerprint.hpp"
#include "guard/key_normalizer.hpp"
#include "pgclient/sql_text.hpp"

namespace uniqguard::guard {

namespace asio = boost::asio;
using pgclient::Error;
using pgclient::Result;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kBatch = 4096;
// How often (in rows) the clock is looked at for progress: cheap against the rows themselves.
constexpr std::uint64_t kClockEvery = 1024;

// Encoding names are letters, digits and '_' ("UTF8", "LATIN1", "EUC_JP", "SQL_ASCII").
bool plain_encoding_name(std::string_view name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '_';
    });
}

// Sets the session so that every value reads one way, and answers the matching SessionContext.
asio::awaitable<Result<SessionContext>> prepare_session(pgclient::PgConnection& conn) {
    auto set = co_await conn.simple_query(
        "SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; "
        "SELECT pg_catalog.current_setting('server_encoding'), "
        "pg_catalog.current_setting('client_encoding')");
    if (!set) co_return set.error();
    const auto& rows = set->back().rows;
    if (rows.size() != 1 || rows[0].size() != 2 || !rows[0][0] || !rows[0][1]) {
        co_return Error::client("unexpected answer to the loader's session settings");
    }
    const std::string server_encoding = *rows[0][0];
    if (server_encoding != *rows[0][1]) {
        // COPY's text must come in the server's own encoding, as the normaliser reads it.
        if (!plain_encoding_name(server_encoding)) {
            co_return Error::client("unexpected server_encoding \"" + server_encoding + "\"");
        }
        auto enc = co_await conn.simple_query("SET client_encoding = '" + server_encoding + "'");
        if (!enc) co_return enc.error();
    }
    const std::string time_zone(conn.parameter("TimeZone"));
    const std::string date_style(conn.parameter("DateStyle"));
    SessionContext session =
        SessionContext::from_settings(time_zone, date_style, server_encoding == "UTF8");
    if (session.utc_offset_seconds != 0 || session.date_order != DateOrder::ymd) {
        co_return Error::client(
            "the loader's session did not take TimeZone UTC and DateStyle "
            "ISO, YMD (the server reports TimeZone \"" +
            time_zone + "\", DateStyle \"" + date_style + "\")");
    }
    co_return session;
}

}  // namespace

std::string key_set_copy_sql(const GuardTable& table) {
    std::string columns;
    for (std::size_t i = 0; i < table.key_columns.size(); ++i) {
        if (i != 0) columns += ", ";
        columns += pgclient::quote_identifier(table.columns.at(table.key_columns[i]).name);
    }
    // A plain table: COPY reads its heap directly, without the executor (a sixth less server
    // CPU than the same rows through a SELECT), and never its inheritance children, which are
    // outside the key as they are outside a unique index on the parent. A partitioned table
    // holds no rows itself and a foreign table has no heap: COPY reads those only through a
    // query, which takes in the partitions (an INSERT into the parent lands there).
    if (table.kind == 'r') return "COPY " + table.qualified_sql + " (" + columns + ") TO STDOUT";
    return "COPY (SELECT " + columns + " FROM " + table.qualified_sql + ") TO STDOUT";
}

asio::awaitable<Result<LoadStats>> load_key_set(
    pgclient::PgConnection& conn, const GuardTable& table, bool nulls_distinct, std::uint64_t seed,
    KeySet& set, std::function<void(const LoadProgress&)> on_progress,
    std::chrono::milliseconds progress_interval) {
    const auto start = Clock::now();
    if (table.key_columns.empty() || table.key_columns.size() != table.key_types.size()) {
        co_return Error::client("the guard's table has no key columns");
    }
    auto session = co_await prepare_session(conn);
    if (!session) co_return session.error();
    const SessionContext context = *session;

    // Most of a growing set's cost is moving its keys at each growth (1.5x). Two thirds of the
    // planner's estimate saves most of that and stays within 16 bytes per key as long as at
    // least ~42 % of the rows bring a distinct key (legacy duplicates and NULL keys are the
    // exception, not the rule); a stale or missing estimate only costs the growth back.
    if (table.estimated_rows > 0) {
        set.reserve(set.size() + static_cast<std::size_t>(table.estimated_rows / 3 * 2));
    }

    const std::size_t width = table.key_types.size();
    const std::vector<ColumnType>& types = table.key_types;
    LoadStats stats;

    // Reused for every row: no allocation per row once they have grown.
    std::string key, part;
    std::vector<std::uint64_t> batch;
    batch.reserve(kBatch);
    auto flush = [&] {
        stats.distinct_fingerprints += set.add_many(batch);
        batch.clear();
    };

    struct Unreadable {
        std::size_t column = 0;
        std::uint64_t row = 0;
        NormalizeStatus status = NormalizeStatus::invalid;
    };
    std::optional<Unreadable> first_unreadable;
    std::uint64_t rows = 0;
    auto last_progress = start;

    const pgclient::CopyRowHandler on_row = [&](const pgclient::Row& row) {
        ++rows;
        if (on_progress && rows % kClockEvery == 0) {
            const auto now = Clock::now();
            if (now - last_progress >= progress_interval) {
                last_progress = now;
                on_progress(LoadProgress{.rows = rows, .elapsed = now - start});
            }
        }
        key.clear();
        bool has_null = false;
        bool readable = true;
        for (std::size_t i = 0; i < width; ++i) {
            const auto& field = row[i];
            if (!field) {
                has_null = true;
                if (nulls_distinct) break;  // never conflicts: the rest does not matter
                append_key_null(key);
                continue;
            }
            part.clear();
            const auto status = append_text(types[i], types[i], *field, context, part);
            if (status != NormalizeStatus::ok) {
                // `invalid` is as bad as `cannot_normalize` here: the server stored this value,
                // so the proxy reads it otherwise than the server does.
                ++stats.unreadable;
                if (!first_unreadable) first_unreadable = Unreadable{i, rows, status};
                readable = false;
                break;
            }
            append_key_bytes(key, part);
        }
        if (has_null) ++stats.rows_with_null;
        if (!readable || (has_null && nulls_distinct) || first_unreadable) return;
        batch.push_back(fingerprint_encoded_key(key, seed));
        if (batch.size() == kBatch) flush();
    };

    auto copied = co_await conn.copy_out(key_set_copy_sql(table), on_row);
    if (!copied) co_return copied.error();
    if (first_unreadable) {
        const auto& u = *first_unreadable;
        const auto& column = table.columns.at(table.key_columns.at(u.column));
        co_return Error::client(
            "column " + pgclient::quote_identifier(column.name) + " of " + table.qualified_sql +
            " (" + types[u.column].to_string() + ") holds a value that the proxy cannot read as " +
            "the server does (" + std::string(to_string(u.status)) + ", first at row " +
            std::to_string(u.row) + " of " + std::to_string(rows) + "; " +
            std::to_string(stats.unreadable) + (stats.unreadable == 1 ? " value" : " values") +
            " in all): the proxy cannot compare this guard's keys");
    }
    flush();
    stats.rows = *copied;
    stats.elapsed = Clock::now() - start;
    stats.memory_bytes = set.memory_bytes();
    co_return stats;
}

}  // namespace uniqguard::guard
