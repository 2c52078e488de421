// The guard of one COPY … FROM STDIN into a guarded table (SPEC §4: "COPY FROM STDIN rows pass
// through the proxy and are checked row by row"). The rows are read as they pass
// (protocol/postgres/copy_rows.hpp), every key is normalised and fingerprinted, and a new
// fingerprint goes into the key set, as for an INSERT; the row is forwarded either way. A row
// whose fingerprint the key set already had (a key of the table, of an earlier row of this COPY,
// or a stale one), or whose key the proxy cannot fingerprint, is "suspected": its key is kept,
// and once the client ends the data the server judges the suspected rows in the client's own
// transaction, before the COPY commits (PgGuard sends the check between CopyDone and Sync).
//
// action "ignore": a suspected row is held back instead (its bytes), and the data is forwarded
// without it; PgGuard inserts the held rows that are not duplicates after the client's data.
//
// Memory: the unfinished row and the suspected rows (keys, and held bytes), both bounded; the
// rest of the data is never held.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "guard/guard_registry.hpp"
#include "guard/key_normalizer.hpp"
#include "guard/pg_check_sql.hpp"
#include "protocol/postgres/copy_rows.hpp"
#include "proxy/pg_session_claims.hpp"
#include "proxy/pg_write_plan.hpp"
#include "util/bytes.hpp"

namespace uniqguard::proxy {

class PgCopyGuard {
  public:
    struct Suspect {
        std::uint64_t line = 0;
        guard::KeySql sql;                                // the key as SQL, for the check
        std::vector<std::optional<std::string>> display;  // ...and as text, for the log
        bool fingerprinted = true;  // false: the key set learns it from the server afterwards
    };

    // `session` must outlive the COPY (it is PgGuard's). `max_suspect_bytes` bounds the keys
    // kept for the check.
    // `claims`: the session's (pg_session_claims.hpp), or null; each row's key is claimed for
    // the COPY's transaction step `ready` before the key set hears of it, so that other
    // sessions' writes of it wait for this COPY. The COPY itself never waits (no statement can
    // run while the server reads its data): a key another session holds is not claimed.
    PgCopyGuard(guard::GuardState& guard, const WritePlan& plan,
                const guard::SessionContext& session, std::size_t max_suspect_bytes = 16u << 20,
                SessionClaims* claims = nullptr, std::uint64_t ready = 0);

    // One CopyData body. False when the COPY must fail: error() says why.
    bool on_data(util::Bytes body);
    // CopyDone: the last row may have come without its newline.
    bool on_done();

    const std::vector<Suspect>& suspects() const { return suspects_; }
    std::vector<Suspect> take_suspects() { return std::move(suspects_); }
    const std::string& error() const { return error_; }

    // action "ignore": the suspected rows are held back (their bytes, in order, bounded with
    // their keys); the rest of the data is what `take_forward` returns after each call.
    bool holds_suspects() const { return hold_suspects_; }
    std::string take_forward() { return std::exchange(forward_, {}); }
    const std::string& held_rows() const { return held_rows_; }
    std::uint64_t rows() const { return decoder_.rows(); }

  private:
    void on_row(const protocol::postgres::CopyRow& row);
    // Whether the row's key may exist; a suspected row's key is kept.
    bool suspect(const protocol::postgres::CopyRow& row);
    void check_bound();

    guard::GuardState& guard_;
    const guard::SessionContext& session_;
    SessionClaims* claims_;  // null: no claims (action "log", tests)
    std::uint64_t ready_;
    bool hold_suspects_;
    bool binary_;
    protocol::postgres::CopyRowDecoder decoder_;
    protocol::postgres::CopyRowDecoder::RowHandler handler_;
    std::vector<Suspect> suspects_;
    std::size_t suspect_bytes_ = 0;
    std::size_t max_suspect_bytes_;
    std::string encoded_;  // one key's canonical bytes, re-used
    std::string forward_;
    std::string held_rows_;
    std::string error_;
};

// action "ignore": the COPY of the held rows into the staging table (guard/pg_check_sql.hpp),
// in the client's format and options (no HEADER), and its data (with the binary header and
// trailer when binary).
std::string copy_staging_statement(const WritePlan& plan);
std::string copy_staging_data(const WritePlan& plan, const std::string& held_rows);

// "COPY t, line N": the CONTEXT the server gives a unique violation found while copying
// (CopyFromErrorCallback; the line's text is not quoted: the server no longer holds it when it
// inserts the index entries).
std::string copy_error_context(std::string_view table, std::uint64_t line);

}  // namespace uniqguard::proxy
