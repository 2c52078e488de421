// The guard inside one PostgreSQL session (SPEC §4): reads the client's Query, Parse, Bind and
// Execute messages, decides for each write to a guarded table whether its keys may be duplicates,
// and has the server confirm suspected ones in the client's own session (guard/pg_check_sql.hpp).
//
// The data path of one INSERT: the text passes the TableMentionFilter, is analysed (cached by
// shape), its keys are normalised and fingerprinted; every fingerprint new to the key set is
// added and the INSERT forwarded as it is. A fingerprint already present (or a key the proxy
// cannot fingerprint) makes the INSERT "suspected": it is forwarded with its replies held by the
// server pump, followed by the check; the check's success releases the held replies, its error
// (23505, raised by the server) replaces them. Keys are never taken out of the key set: a stale
// fingerprint (a row deleted, a transaction rolled back) costs one confirmation, never a false
// duplicate, because the server decides.
//
// Concurrency between sessions (SPEC §4): every key a guarded write will put in the table is
// claimed for the session's transaction first (guard/key_claims.hpp, pg_session_claims.hpp); a
// write whose key another transaction in flight holds is not sent: on_client_message answers
// `wait`, and the session's client pump waits for that claim's release, then gives the same
// message again (decided afresh: the key is then present, so the server checks it).
//
// Owned by PgSession; used only from the session's strand.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "guard/duplicate_log.hpp"
#include "guard/guard_registry.hpp"
#include "guard/key_normalizer.hpp"
#include "guard/pg_check_sql.hpp"
#include "protocol/postgres/frontend_messages.hpp"
#include "protocol/postgres/reply_tracker.hpp"
#include "protocol/postgres/session_settings.hpp"
#include "proxy/claim_waiter.hpp"
#include "proxy/pg_insert_shape.hpp"
#include "proxy/pg_named_statements.hpp"
#include "proxy/pg_session_claims.hpp"
#include "proxy/pg_sql_prepared.hpp"
#include "proxy/pg_write_plan.hpp"
#include "util/bytes.hpp"

namespace uniqguard::proxy {

struct SessionIdentity {
    std::string client_address;
    std::string user;
    std::string database;
};

class PgCopyGuard;

class PgGuard {
  public:
    PgGuard(const guard::GuardRegistry* registry, guard::DuplicateLog* duplicates,
            const SessionIdentity& identity, const protocol::postgres::SessionSettings& settings,
            std::shared_ptr<ClaimWaiter> waiter = nullptr);
    ~PgGuard();  // out of line: the maps hold types defined in the .cpp

    bool active() const { return registry_ != nullptr && !registry_->empty(); }
    // After a reload, between two transactions (nothing in flight, no transaction block open):
    // the guards of `next` apply from the next statement. Plans made for the old guards are
    // dropped; the caller keeps `next` alive as long as this guard uses it.
    void adopt(const guard::GuardRegistry* next);
    // The named statements the session prepared before it had a guard (PgSession keeps their
    // text meanwhile): those that write to a guarded table are guarded from now on.
    void learn_named_statements(NamedStatementTexts texts);

    struct Outcome {
        bool replaced = false;  // `out` holds what to send instead; the tracker knows it
        protocol::postgres::ReplyUse use = protocol::postgres::ReplyUse::forward;
        // Nothing was sent or changed for this message: a key it writes is claimed by another
        // session's transaction (waiting_for()). Give the same message again once the waiter
        // is woken, or after end_wait().
        bool wait = false;
        // The message was replaced by the first part of an INSERT whose keys come late: read
        // no further message until late_answered(), then call resume_late() (again after a
        // wait, as for `wait`) until it gives no wait.
        bool resume = false;
    };
    // One whole client message (`raw` = type, length and body). `in_transaction`: the last
    // ReadyForQuery said a transaction block was open.
    Outcome on_client_message(char type, util::Bytes body, util::Bytes raw, std::string& out,
                              protocol::postgres::ReplyTracker& tracker, bool in_transaction);

    // The guard whose key the last `wait` outcome is for.
    guard::GuardState* waiting_for() const { return wait_guard_; }
    // The wait ended without the key's release (lock timeout, a CancelRequest): the message,
    // given again, is answered by the server raising this error instead of waiting.
    void end_wait(std::string_view sqlstate, std::string_view message, std::string_view hint = {}) {
        interrupt_ = Interrupt{std::string(sqlstate), std::string(message), std::string(hint)};
    }
    const SessionClaims& session_claims() const { return claims_; }
    // The session's lock_timeout and statement_timeout (milliseconds, 0: none), read from the
    // server when a wait began (once per waiting message); nullopt until the answer came.
    struct ClientTimeouts {
        std::chrono::milliseconds lock{0};
        std::chrono::milliseconds statement{0};
    };
    std::optional<ClientTimeouts> take_client_timeouts() {
        return std::exchange(client_timeouts_, std::nullopt);
    }

    // An INSERT whose keys come late, sent in two parts: the statement and its keys, then, once
    // the server has answered them and this session has claimed the keys (waiting, like any
    // write, for a key another transaction holds), the check. late_pending(): between the two.
    bool late_pending() const { return late_.has_value(); }
    // The first part is answered: its keys came, or the server skips it (an error in it, or in
    // a message before it with no Sync between).
    bool late_answered(const protocol::postgres::ReplyTracker& tracker) const {
        return late_ && (late_->answered || tracker.skipped(late_->watch_seq));
    }
    Outcome resume_late(std::string& out, protocol::postgres::ReplyTracker& tracker);

    // From the server pump. `fields` is the check's error: cleaned here of what only the proxy's
    // DO block adds (PL/pgSQL context, source location, the event marker).
    void on_check_failed(std::uint32_t tag, protocol::postgres::ErrorFieldList& fields);
    void on_check_passed(std::uint32_t tag);
    void on_probe_row(std::uint32_t tag, util::Bytes data_row);
    void on_probe_done(std::uint32_t tag);
    void on_proxy_error(std::uint32_t tag);
    // Moves an error's position ('P') from the rewritten query text back into the client's.
    void fix_error_position(std::uint32_t rewrite,
                            protocol::postgres::ErrorFieldList& fields) const;
    void on_rewrite_done(std::uint32_t rewrite);
    // `nothing_owed`: every message sent to the server has had its replies.
    void on_ready_for_query(protocol::postgres::TransactionStatus status, bool nothing_owed);
    // Replies that say the transactions ending at the next ReadyForQuery did not all commit:
    // an ErrorResponse, a `ROLLBACK` command tag (wanted only while keys are claimed).
    void on_server_error() { note_undo(); }
    bool follows_rollbacks() const { return claims_.held() > 0; }
    void on_command_tag(std::string_view tag) {
        if (tag.starts_with("ROLLBACK") && !answers_followed_rollback_to()) note_undo();
    }

  private:
    // The key values of a unique violation's DETAIL ("Key (a, b)=(2, 5) already exists."), as
    // the server wrote them; nullopt when it is not in that form.
    static std::optional<std::vector<std::optional<std::string>>> key_values_of_detail(
        std::string_view detail);
    struct Prepared;  // a Parse of a statement that writes to a guarded table
    // The second part of an INSERT whose keys come late (resume_late).
    struct LateResume {
        guard::GuardState* guard = nullptr;
        std::string check, clear;
        std::uint32_t check_tag = 0, learn_tag = 0;
        std::vector<std::uint64_t> keys;    // fingerprints of its new keys, in row order
        std::vector<std::size_t> key_rows;  // ...and each one's row (0-based) among the keys
        std::size_t rows_seen = 0;          // rows of the keys read so far
        // Where in `check` rows committed since the transaction began go
        // (guard::with_committed_rows); nowhere for a stage's keys (proposed rows).
        guard::CommittedRowsSlot committed;
        std::size_t claimed = 0;      // keys[0, claimed) are claimed
        bool own_sync = false;        // a simple Query's: the proxy sends the Sync
        bool answered = false;        // the keys came
        std::uint64_t watch_seq = 0;  // the first part's last message (ReplyTracker)
        std::uint64_t ready = 0;      // the ReadyForQuery that ends its step (claims)
        std::uint32_t rewrite = 0;    // the rewritten text's id (error positions), 0: none
        // An INSERT that skips duplicates: the first part filled the stage (its rows were the
        // keys); this statement fills the table from it once they are claimed.
        struct FromStage {
            std::string statement;
            bool rows_returned = false;
            std::uint32_t extra_columns = 0;
            std::vector<std::int16_t> result_formats;
            bool describe = false;  // a simple Query's: its RowDescription asked for
            std::uint32_t rewrite = 0;
            std::string probe;  // the skipped rows, for the duplicate log
            std::uint32_t probe_tag = 0;
        };
        std::optional<FromStage> from_stage;
    };
    struct Portal;
    struct PendingCheck;
    struct Decision;

    Outcome on_query(util::Bytes body, util::Bytes raw, std::string& out,
                     protocol::postgres::ReplyTracker& tracker, bool in_transaction);
    // on_query's work; `changes_settings`: the text may change a setting values are read under
    // (the statements after such a change see settings_unconfirmed_).
    Outcome read_query(util::Bytes body, std::string& out,
                       protocol::postgres::ReplyTracker& tracker, bool in_transaction,
                       bool changes_settings);
    Outcome on_parse(util::Bytes body, std::string& out, protocol::postgres::ReplyTracker& tracker);
    void on_bind(util::Bytes body);
    Outcome on_execute(util::Bytes body, util::Bytes raw, std::string& out,
                       protocol::postgres::ReplyTracker& tracker, bool in_transaction);
    void on_close(util::Bytes body);
    // COPY … FROM STDIN into a guarded table (pg_copy_guard.hpp): the client's Query is sent as
    // Parse/Bind/Execute/Sync, so that the server keeps the transaction open after the data
    // until the proxy's Sync, which follows the check of the suspected rows. A prepared COPY
    // (on_execute) is forwarded: the check goes before the client's own Sync.
    Outcome start_copy(const WritePlan& plan, std::string_view text, std::string& out,
                       protocol::postgres::ReplyTracker& tracker, bool in_transaction);
    // `own_sync`: the proxy sends the Sync that ends the COPY's transaction step (a simple
    // Query's COPY); a prepared COPY's is the client's.
    void begin_copy(const WritePlan& plan, std::string_view text, bool in_transaction,
                    bool own_sync);
    Outcome on_copy_message(char type, util::Bytes body, util::Bytes raw, std::string& out,
                            protocol::postgres::ReplyTracker& tracker);
    void append_held_rows(std::string& out, protocol::postgres::ReplyTracker& tracker,
                          const std::string& held_rows, std::uint32_t probe_tag);

    // An INSERT of a shape seen before (pg_insert_shape.hpp): true when it passes (every key
    // new, now in the key set); false when the full path must decide.
    bool passes_by_shape(const InsertShapePlan& plan, std::string_view text,
                         const sql::LiteralShape& shape);
    // Whether a capture of keys the key set must learn (PendingCheck::new_keys) is still due.
    bool learning_keys_of(const guard::GuardState& guard) const;
    // A prepared statement's parameter types as its Executes read them: Parse's, with each
    // parameter of unspecified type used more than once typed as all its uses agree
    // (pg_parameter_substitution.hpp).
    std::vector<std::uint32_t> execute_types(const Prepared& prepared, const WritePlan& plan) const;
    // Which setting the prepared statement's literals were read under that the session no
    // longer has, where they may read otherwise now; nullopt: none.
    std::optional<std::string> parse_settings_moved(const Prepared& prepared) const;
    // How the session reads '...' strings, for every pass over a client's text.
    sql::LexOptions lex_options() const {
        return {.standard_conforming_strings = settings_.standard_conforming_strings};
    }
    // What to do with one write whose values are known now.
    Decision decide(const WritePlan& plan, const protocol::postgres::BindMessage* bind,
                    const std::vector<std::uint32_t>& parameter_types, bool in_transaction);
    std::uint32_t remember(PendingCheck check);
    // Claims `fp` of `g` for this session's transaction (reject and ignore; `log` changes
    // nothing on the wire, so it never waits). false: held by another session.
    // `ready`: as SessionClaims::claim (0: the message being read).
    bool claim(guard::GuardState& g, std::uint64_t fp, std::uint64_t ready = 0,
               bool records_commit = false);
    // A key is held by another session: wait for it, or raise end_wait()'s error.
    Decision wait_or_interrupt(guard::GuardState& g);
    // Sends the first part of a late INSERT (`d`, Decision::Kind::late). `text`/`statement`:
    // a simple Query's text and its one statement's range, for error positions (empty for an
    // Execute, whose parameters are written in).
    Outcome start_late(const Decision& d, guard::GuardState& g, std::string_view text,
                       std::optional<sql::SourceRange> statement, std::string& out,
                       protocol::postgres::ReplyTracker& tracker,
                       const std::vector<std::int16_t>& result_formats = {});
    // Forgets the checks remembered since `first_tag` (a message that waits is decided again).
    void forget_checks_since(std::uint32_t first_tag);
    // A message waits: with lock_wait_timeout_ms = 0 the server is asked for the session's own
    // lock_timeout (a statement of the proxy's, its row captured), when that is safe: an
    // Execute (what follows is skipped to Sync with it if it fails), or a Query with nothing
    // in flight outside a failed transaction (a failed probe would make the server skip the
    // Query itself while looking for a Sync). Returns the outcome to give.
    Outcome waiting(bool execute, std::string& out, protocol::postgres::ReplyTracker& tracker);
    // A PREPARE TRANSACTION in a transaction that wrote to a guarded table: the refusal that
    // answers it (SPEC §4), else nullopt.
    std::optional<Decision> two_phase_refusal(const sql::Statement& statement);
    // A refusal (0A000 `message`) whatever the guard's action: for a statement that must not
    // run as the server holds it.
    Decision refused_outright(guard::GuardState& g, const std::string& message,
                              std::string_view sqlstate = "0A000");
    // The refusal of an Execute of an upsert parsed naming another constraint whose guard or
    // portal the proxy no longer knows (a RAISE block; no pending check).
    static std::string upsert_statement_refusal();
    // SQL-level `EXECUTE name` (or EXPLAIN … EXECUTE) of a statement prepared with a Parse that
    // writes to a guarded table: refused, its parameters coming as SQL without a Bind.
    std::optional<Decision> execute_refusal(std::string_view statement);
    // SQL-level PREPARE and EXECUTE of writes to a guarded table (pg_sql_prepared.hpp): true when
    // `statement` is one, its plan in `write` (nullopt: forward it).
    bool plan_sql_level(const sql::Statement& statement, std::string_view sql,
                        std::optional<WritePlan>& write);
    // The plan of a PREPARE's statement `body` read with standard_conforming_strings
    // `standard_strings`, and its command; `unreadable`: it does not parse (as one statement).
    std::optional<WritePlan> plan_prepared_body(std::string_view body, bool standard_strings,
                                                std::string_view& command, bool& unreadable) const;
    // plan_sql_level, else plan_write: a statement's plan in this session.
    std::optional<WritePlan> plan_statement(const sql::Statement& statement, std::string_view sql);
    // Named statements kept only as text whose table the registry now guards: analysed as at
    // Parse and kept in prepared_.
    void guard_named_statements();
    void notice_schema_change(const sql::Statement& statement);
    const guard::SessionContext& session_context();
    void learn_json_keys(guard::GuardState& guard, std::string_view json);
    // Before this session adds keys to `guard`'s key set: counted as one of its writers until
    // its transaction ends (GuardState::open_writer).
    void writing_to(guard::GuardState& guard);
    void close_writes();
    void report(const PendingCheck& check, std::size_t event, guard::DuplicateAction action);

    const guard::GuardRegistry* registry_;
    guard::DuplicateLog* duplicates_;
    const SessionIdentity& identity_;
    const protocol::postgres::SessionSettings& settings_;
    std::unordered_map<std::string, std::shared_ptr<const Prepared>> prepared_;
    NamedStatementTexts unguarded_;   // named statements not in prepared_, for a reload
    SqlPreparedWrites sql_prepared_;  // SQL-level PREPAREs of guarded writes
    std::unordered_map<std::string, std::shared_ptr<Portal>> portals_;
    // Portals bound to an upsert parsed naming another constraint (Prepared::
    // names_other_constraint): their Execute is refused even once portals_ forgot them.
    std::unordered_set<std::string> upsert_portals_;
    std::unordered_map<std::uint32_t, PendingCheck> pending_;
    std::uint32_t next_tag_ = 1;
    // Client portals whose rows come from a portal of the proxy's (see on_execute).
    std::unordered_map<std::string, std::string> redirects_;
    std::uint32_t next_portal_ = 1;
    // Rewritten simple queries whose replies are still due: the client's text, ours, and which
    // bytes of ours are the client's.
    struct RewriteSegment {
        std::size_t original;   // byte offset in the client's text
        std::size_t rewritten;  // byte offset in the rewritten text
        std::size_t length;
    };
    struct Rewrite {
        std::string original;
        std::string rewritten;
        std::vector<RewriteSegment> segments;
    };
    std::unordered_map<std::uint32_t, Rewrite> rewrites_;
    std::uint32_t next_rewrite_ = 1;
    std::optional<guard::SessionContext> context_;
    // The guards this session may have added keys to since its last transaction ended, with
    // the epoch each was opened in; and the guards whose table it truncated meanwhile.
    std::vector<std::pair<guard::GuardState*, std::uint64_t>> open_writes_;
    std::vector<guard::GuardState*> truncated_;
    // The COPY FROM STDIN under way, with what its check needs to know of the statement.
    std::unique_ptr<PgCopyGuard> copy_;
    WritePlan copy_plan_;  // its guard, columns and options (text: none)
    std::string copy_statement_;
    bool copy_in_transaction_ = false;
    bool copy_own_sync_ = true;
    std::string context_time_zone_;
    std::string context_date_style_;
    // The keys this session's transactions in flight write, and the wait in progress.
    std::shared_ptr<ClaimWaiter> waiter_;  // null without a session (tests, tools)
    SessionClaims claims_;
    guard::GuardState* wait_guard_ = nullptr;
    struct Interrupt {
        std::string sqlstate, message, hint;
    };
    std::optional<Interrupt> interrupt_;
    std::optional<LateResume> late_;
    std::array<std::uint32_t, 2> late_rewrites_done_{};  // forgotten at the next ReadyForQuery
    bool timeouts_asked_ = false;                        // for the message waiting now
    // The waiting Query's SAVEPOINT / RELEASE / ROLLBACK TO is followed already.
    bool transaction_command_applied_ = false;
    std::optional<ClientTimeouts> client_timeouts_;
    // The message being decided comes in a failed transaction with nothing sent since: the
    // server refuses it (25P02), so it neither claims nor waits.
    bool in_failed_transaction_ = false;
    // An error or a ROLLBACK tag since the last idle ReadyForQuery (on_server_error,
    // on_command_tag): kept across a block's 'T' and 'E', since a ROLLBACK TO, a ROLLBACK AND
    // CHAIN or an error undoes keys the block's COMMIT would otherwise count as committed.
    bool rolled_back_since_ready_ = false;
    // The savepoint mark (SessionClaims) inside which everything undone since then happened:
    // a ROLLBACK TO a savepoint set no later, which succeeds, undoes it all, and its claims
    // are gone (Django's atomic() around an INSERT that fails). 0: from outside any.
    std::uint64_t undone_inside_ = ~std::uint64_t{0};
    void note_undo();
    // Whether the savepoints SessionClaims follows in this transaction are the server's (see
    // note_savepoint_command); if not, no ROLLBACK TO clears an undo.
    bool savepoints_certain_ = true;
    // The ReadyForQuery of the last savepoint command followed from a Query.
    std::uint64_t savepoint_command_ready_ = 0;
    void note_savepoint_command(const TransactionCommand& command, bool alone,
                                std::string_view sql);
    // Queries that are one ROLLBACK TO a savepoint followed (its mark), by ReadyForQuery.
    struct FollowedRollbackTo {
        std::uint64_t ready;
        std::uint64_t mark;
    };
    std::vector<FollowedRollbackTo> followed_rollbacks_to_;
    bool answers_followed_rollback_to() const {
        return !followed_rollbacks_to_.empty() &&
               followed_rollbacks_to_.front().ready == claims_.next_answer();
    }
    // The ReadyForQuery numbers (SessionClaims::next_ready) of the Queries sent that are one
    // COMMIT / ROLLBACK … AND CHAIN, not answered yet (on_ready_for_query).
    std::vector<std::uint64_t> chain_ends_;
    // The commit_clock() tick when the session's transaction began (its first statement after
    // being idle; 0: not begun yet): a key committed by another session after it is not in a
    // REPEATABLE READ snapshot (insert_reject_check's `committed_rows`).
    std::uint64_t transaction_start_ = 0;
    // An Execute of a portal whose statement is a BEGIN (which takes no snapshot): the last
    // statement parsed as a BEGIN, and the portal bound to it last (psycopg 3 in a pipeline and
    // JDBC send Parse/Bind/Execute of their BEGIN).
    bool executes_begin(util::Bytes body) const;
    std::optional<std::string> begin_statement_, begin_portal_;
    void note_transaction_start() {
        if (transaction_start_ == 0) transaction_start_ = guard::commit_clock().load();
    }
    // A change of a setting the guard reads values under (pg_setting_changes.hpp) was sent and
    // the server has not answered it yet: guarded writes are refused until the session is idle
    // with nothing owed (its ParameterStatus has come by then).
    bool settings_unconfirmed_ = false;
    // Such a change was sent since the session was last idle outside a transaction: the end of
    // the transaction (or a rollback to a savepoint) may put the old value back.
    bool settings_changed_in_transaction_ = false;
    // Prepared statements whose text may change such a setting (or end a transaction): their
    // Bind sets the above. `maybe_gone`: a DEALLOCATE or DISCARD was seen since.
    struct SettingStatement {
        bool ends_transaction = false;
        bool maybe_gone = false;
    };
    std::unordered_map<std::string, SettingStatement> setting_statements_;
    // A text changes a setting values are read under, now (the end of a transaction counts
    // after a change in it).
    bool changes_read_settings(std::string_view sql) const;
    void setting_changed() {
        settings_unconfirmed_ = true;
        settings_changed_in_transaction_ = true;
    }
    protocol::postgres::TransactionStatus last_status_ =
        protocol::postgres::TransactionStatus::idle;
};

}  // namespace uniqguard::proxy
