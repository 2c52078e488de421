// The guard of one COPY … FROM STDIN into a guarded table (SPEC §4: "COPY FROM STDIN rows pass
// through the proxy and are checked row by row"). The rows are read as they pass
// (protocol/postgres/copy_rows.hpp), every key is normalised and fingerprinted, and a new
// fingerprint goes into the key set, as for an INSERT; the row is forwarded either way. A row
// whose fingerprint the key set already had (a key of the table, of an earlier row of this COPY,
// or a stale one), or whose key the proxy cannot fingerprint, is "suspected": its key is kept,
// and once the client ends the data the server judges the suspected rows in the client's own
// transaction, before the COPY commits (PgGuard sends the check between CopyDone and Sync).
//
// Memory: the unfinished row and the suspected rows' keys, both bounded; the data itself is
// never held.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "guard/guard_registry.hpp"
#include "guard/key_normalizer.hpp"
#include "guard/pg_check_sql.hpp"
#include "protocol/postgres/copy_rows.hpp"
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
    PgCopyGuard(guard::GuardState& guard, const WritePlan& plan,
                const guard::SessionContext& session, std::size_t max_suspect_bytes = 16u << 20);

    // One CopyData body. False when the COPY must fail: error() says why.
    bool on_data(util::Bytes body);
    // CopyDone: the last row may have come without its newline.
    bool on_done();

    const std::vector<Suspect>& suspects() const { return suspects_; }
    std::vector<Suspect> take_suspects() { return std::move(suspects_); }
    const std::string& error() const { return error_; }
    std::uint64_t rows() const { return decoder_.rows(); }

  private:
    void on_row(const protocol::postgres::CopyRow& row);

    guard::GuardState& guard_;
    const guard::SessionContext& session_;
    bool binary_;
    protocol::postgres::CopyRowDecoder decoder_;
    protocol::postgres::CopyRowDecoder::RowHandler handler_;
    std::vector<Suspect> suspects_;
    std::size_t suspect_bytes_ = 0;
    std::size_t max_suspect_bytes_;
    std::string encoded_;  // one key's canonical bytes, re-used
    std::string error_;
};

// "COPY t, line N": the CONTEXT the server gives a unique violation found while copying
// (CopyFromErrorCallback; the line's text is not quoted: the server no longer holds it when it
// inserts the index entries).
std::string copy_error_context(std::string_view table, std::uint64_t line);

}  // namespace uniqguard::proxy
