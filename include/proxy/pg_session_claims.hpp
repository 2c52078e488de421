// The keys one PostgreSQL session has claimed (guard/key_claims.hpp) for its transactions in
// flight, and when the server's replies say they are free again (SPEC §4: a key written by a
// transaction that rolled back, by a rolled-back savepoint, by a statement or implicit
// transaction that failed, or by a connection that is gone, is free; one that committed is the
// table's).
//
// When a transaction ends is read from the replies, as the server reports it:
//   - ReadyForQuery 'I': every transaction up to it has ended (committed or rolled back).
//   - ReadyForQuery 'E': a statement failed in a transaction block. Outside any savepoint the
//     server has already aborted the whole transaction (its locks are gone; ROLLBACK only ends the
//     block), so its keys are free; inside a savepoint only the innermost subtransaction is
//     aborted, and only the keys claimed inside it are free.
//   - SAVEPOINT / RELEASE / ROLLBACK TO of a simple Query (its first statement) or of an
//     Execute of a prepared one, at send time (the names are followed as the server follows
//     them: the innermost of a name wins). ROLLBACK TO frees the keys claimed after its
//     savepoint was set; RELEASE hands them to the enclosing level.
// Each claim carries the number of the ReadyForQuery that answers the message it came with
// (Query and Sync each ask for one), so that in a pipeline a ReadyForQuery frees only the keys
// of the transactions it ends, not those of messages sent after it.
//
// Not thread-safe: the session's thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "guard/key_claims.hpp"
#include "protocol/postgres/message_codes.hpp"

namespace uniqguard::proxy {

// What a simple Query's first statement does to the transaction, read without a parse.
struct TransactionCommand {
    enum class Kind { begin, end, savepoint, release, rollback_to };
    Kind kind;
    std::string name;  // the savepoint, as the server folds it
    // An end `AND CHAIN`: the next transaction opens at once (ReadyForQuery 'T').
    bool chain = false;
};
std::optional<TransactionCommand> read_transaction_command(std::string_view sql);

// A claim owner for a new guarded session (PostgreSQL or MySQL): never 0, never re-used in the
// process (ClaimWaits follows owners across every guard).
std::uint64_t new_claim_owner();

class SessionClaims {
  public:
    // `waiter`: registered for a held key (may be null: then nobody is woken).
    SessionClaims(std::uint64_t owner, std::shared_ptr<guard::ClaimWaiter> waiter);
    ~SessionClaims() { release_all(); }
    SessionClaims(const SessionClaims&) = delete;
    SessionClaims& operator=(const SessionClaims&) = delete;

    // Claims `fp` for the transaction of the message being read. false: another session holds
    // it, and the waiter will be woken when it lets go.
    // `ready`: the ReadyForQuery that ends the claim's step when it is not the message being
    // read (COPY rows, which come after their Query); 0 = the message being read.
    // `records_commit`: the claiming statement writes a row with the key whenever it succeeds
    // (a plain INSERT … VALUES), so that its transaction's commit is the commit of such a row
    // (KeyClaims::committed_after); a claim without it (a statement that may write no row:
    // ON CONFLICT, an UPDATE, …) records nothing, lest a key with no row count as committed.
    bool claim(guard::KeyClaims& table, std::uint64_t fp, std::uint64_t ready = 0,
               bool records_commit = false);
    // The ReadyForQuery that will answer the message being read.
    std::uint64_t next_ready() const { return requested_ + 1; }
    // A Query or Sync (or FunctionCall) was sent: the server will answer with a ReadyForQuery.
    void ready_requested() { ++requested_; }
    void on_transaction_command(const TransactionCommand& command);
    // `committed`: the transactions this ReadyForQuery ends committed (no error, no ROLLBACK
    // since the last one): the keys they free are recorded as committed (KeyClaims::release).
    void on_ready_for_query(protocol::postgres::TransactionStatus status, bool nothing_owed,
                            bool committed = false);
    void release_all();
    // The transaction of the messages before `ready` ended (MySQL: a BEGIN inside a
    // transaction commits it first): their claims are released, as committed when `committed`,
    // and its savepoints are gone.
    void end_transaction_before(std::uint64_t ready, bool committed);
    // The claims a statement takes from here on can be let go together (release_statement):
    // a statement the proxy answers itself, or one that waits, writes none of its keys.
    void begin_statement() { ++statement_; }
    // Releases the claims taken since begin_statement() (not those the session held already).
    void release_statement();
    // Releases `fp` of `table` if this statement took it (begin_statement()): a key the
    // statement will not write after all (a row it dropped), unless held since before.
    void release_statement_key(const guard::KeyClaims& table, std::uint64_t fp);

    // MySQL's savepoints, followed at their answers (PostgreSQL's: on_transaction_command).
    // InnoDB keeps the locks a rolled-back write took until the transaction ends, so a
    // ROLLBACK TO keeps the claims after its savepoint, but their writes are undone: they
    // record no commit. A SAVEPOINT's place among the claims is taken when it is sent
    // (new_savepoint_mark()): the commands sent after it and answered after its OK are inside.
    std::uint64_t new_savepoint_mark() { return ++savepoint_marks_; }
    // SAVEPOINT answered OK: a savepoint of the same name (names compared as given: the caller
    // folds case) is gone, the new one is the innermost.
    void set_mysql_savepoint(std::string name, std::uint64_t mark);
    // ROLLBACK TO answered OK (`answer`: its answer number): the claims made after the
    // savepoint by commands answered before it record no commit, and the savepoints set after
    // it are gone. false: no such savepoint is followed (set where the proxy did not read it).
    bool rollback_to_mysql_savepoint(const std::string& name, std::uint64_t answer);
    // RELEASE SAVEPOINT answered OK: it and those set after it are gone.
    bool release_mysql_savepoint(const std::string& name);
    // The mark of the innermost savepoint named `name` (PostgreSQL's rule), if followed.
    std::optional<std::uint64_t> savepoint_mark(const std::string& name) const {
        const auto at = find_savepoint(name);
        return at ? std::optional(savepoints_[*at].mark) : std::nullopt;
    }
    // The innermost savepoint's mark, 0 outside any.
    std::uint64_t innermost_savepoint_mark() const {
        return savepoints_.empty() ? 0 : savepoints_.back().mark;
    }
    // Only the message (or Sync's step) being answered is in flight: no later savepoint
    // command was sent.
    bool alone_in_flight() const { return requested_ == answered_ + 1; }
    // The transaction ended: no savepoint is left.
    void clear_savepoints() { savepoints_.clear(); }
    // The message answered `ready` wrote none of the keys it claimed with `records_commit`
    // (MySQL: an ERR, which undoes the statement; an INSERT IGNORE that affected no row): its
    // transaction's commit records them no more, unless another message's claim of the key
    // also asked for the record (it may have written it, or be still unanswered), or a claim
    // without it was made (an UPDATE of the key).
    void unrecord(std::uint64_t ready);
    // The ReadyForQuery (MySQL: the answer) that comes next.
    std::uint64_t next_answer() const { return answered_ + 1; }

    std::size_t held() const { return held_.size(); }
    // Keys one session holds at most (a transaction's, or a few transactions' in flight).
    static constexpr std::size_t max_held = 65536;
    // The key the last refused claim was for (what the session waits for).
    struct Wanted {
        const guard::KeyClaims* table = nullptr;
        std::uint64_t fp = 0;
    };
    const Wanted& wanted() const { return wanted_; }
    std::uint64_t owner() const { return owner_; }
    const std::shared_ptr<guard::ClaimWaiter>& waiter() const { return waiter_; }

  private:
    struct Held {
        guard::KeyClaims* table;
        std::uint64_t fp;
        // savepoint_marks_ at the first claim (not_written after a MySQL ROLLBACK TO undid
        // every write of it): the claim is inside each savepoint whose mark is not later.
        std::uint64_t after;
        std::uint64_t ready;      // the ReadyForQuery that ends the claiming message's step
        std::uint64_t statement;  // the begin_statement() it was taken under
        bool records_commit;      // see claim()
        // The `ready` of the first and the last claim with records_commit since it was set:
        // unrecord() forgets a record only when one message made all of them (another may
        // have written the key: a pipelined command claimed it again before the answer).
        std::uint64_t first_recorder;
        std::uint64_t last_recorder;
        // A claim without records_commit was made too (an UPDATE, which may have written the
        // key): unrecord() leaves the record a later INSERT's claim made, which covers it.
        bool unrecorded_writer;
    };
    // Releases the claims for which `free` is true (`committed`: KeyClaims::release's).
    template <class Pred>
    void release_if(Pred free, std::uint64_t committed = 0);
    // Ends the claims for which `ended` is true (those of messages up to ReadyForQuery
    // `last_ended`), recorded as committed when `committed`.
    template <class Pred>
    void end_transactions(Pred ended, std::uint64_t last_ended, bool committed);

    std::uint64_t owner_;
    std::shared_ptr<guard::ClaimWaiter> waiter_;
    std::vector<Held> held_;
    Wanted wanted_;
    struct Savepoint {
        std::string name;
        std::uint64_t mark;  // savepoint_marks_ when it was set
    };
    // Open savepoints, outermost first: PostgreSQL's as sent, MySQL's as answered.
    std::vector<Savepoint> savepoints_;
    std::uint64_t savepoint_marks_ = 0;
    // Innermost savepoint named `name`.
    std::optional<std::size_t> find_savepoint(const std::string& name) const;
    static constexpr std::uint64_t not_written = ~std::uint64_t{0};
    std::uint64_t requested_ = 0;  // ReadyForQuery the client asked for
    std::uint64_t answered_ = 0;   // and those received
    std::uint64_t statement_ = 0;  // begin_statement() calls
    bool over_limit_logged_ = false;
};

}  // namespace uniqguard::proxy
