// The guard inside one MySQL/MariaDB session (the counterpart of pg_guard.hpp, first slice):
// what to do with each command the client sends. No socket, no Asio: the session asks, does
// what it is told, and hands back the reply of the proxy's own query.
//
//   a plain INSERT … VALUES into a guarded table whose rows the proxy keys:
//     every key certainly new (not in the key set, not twice in the statement)
//                       → forward; the keys join the key set now, before the statement runs,
//                         so that the set never lacks a key that exists on the server;
//     some key in the key set (a fingerprint, which may be stale: a deleted row, a rolled-back
//     insert)           → check: the proxy's own query in the client's session says which
//                         suspected keys exist as the client sees the table; then forward, or
//                         the client's statement is replaced by a SIGNAL the server answers
//                         with ERR 1062 exactly as a unique index would (action reject);
//     the same key twice in the statement → the second row is the duplicate, as on the server;
//   the same under action "ignore", or the client's INSERT IGNORE (reject or ignore), with
//   duplicate rows: they are dropped, as a unique key would have INSERT IGNORE skip them
//                       → some rows kept: `replace` by the INSERT's own text without the
//                         dropped rows (a plain INSERT stays plain: its other errors stay
//                         errors); every row dropped: `replace` by a SIGNAL of class 01, the
//                         OK with one 1062 warning a real INSERT IGNORE of one duplicate row
//                         gives; only kept rows' keys join the key set; each dropped row
//                         logged as "ignored";
//   REPLACE / INSERT … ON DUPLICATE KEY UPDATE (text): keyed, claimed and checked as the INSERT;
//     no key exists nor repeats → forward (a plain insert on a unique key too); ON DUPLICATE
//     KEY UPDATE of one row whose key one row has, in a table with an integer primary key →
//     `replace` by the statement with that row's id added (guard/mysql_upsert_sql), so that
//     the server's primary key conflict updates it and reports as for a unique key; two rows
//     with the key (legacy duplicates), or any other existing or repeated key → ERR 1235;
//   a text UPDATE of one table setting key columns of its guards to literals the proxy keys
//   (proxy/mysql_guard_update.cpp)
//                       → check: the proxy's own query counts, per new key, the rows that would
//                         hold it after the UPDATE (matched, or holding it and left); more than
//                         one → the SIGNAL of ERR 1062 in its place; else forwarded, the new
//                         keys joining the key set (the whole key set: claimed before the check,
//                         as an INSERT's; part of it: the matched rows' new keys, read by the
//                         check, not claimed);
//   a text INSERT … SELECT alone in its string (proxy/mysql_guard_staged.cpp)
//                       → check: the proxy's own commands run the client's statement into a
//                         temporary stage table LIKE the guarded one, then read the stage's keys
//                         (as an UPDATE's part of a key: learnt, claimed); duplicate → the SIGNAL
//                         of ERR 1062; else `replace` by the copy of the stage into the table;
//   a text UPDATE setting a key column to what the proxy does not key (an expression, DEFAULT)
//                       → check, staged the same way (its matched rows, its SET list applied to
//                         them); duplicate → ERR 1062; else forwarded;
//   a form this slice does not enforce (REPLACE or ON DUPLICATE KEY UPDATE of an existing key
//   other than the above, ON DUPLICATE KEY UPDATE assigning a key column, REPLACE / INSERT
//   IGNORE … SELECT, a key
//   the proxy cannot read, an UPDATE with ORDER BY / LIMIT, multi-table, IGNORE or under action
//   "ignore", LOAD DATA, a prepared write other than a plain INSERT, several statements in one
//   string…)
//                       → replaced by a SIGNAL: ERR 1235 (42000) naming the guard; forwarded
//                         with a warning under action = "log";
//   a prepared INSERT … VALUES (?, …) into a guarded table (COM_STMT_PREPARE): forwarded and
//     kept (proxy/mysql_prepared_statements); each COM_STMT_EXECUTE keyed from its parameters
//     and decided as the plain INSERT, the SIGNAL sent as a COM_QUERY in the execute's place
//     (an execute whose rows are partly dropped is refused: its rows cannot be cut);
//   a guard whose key set is not loaded → its when_unready.
// Keys are claimed (guard/key_claims.hpp, proxy/pg_session_claims.hpp) for the session's
// transaction before the key set hears of them and before the INSERT goes out (reject, ignore;
// `log` changes nothing on the wire and never waits): a key another session's transaction in
// flight writes makes the command `wait` (the session waits for that claim's release, then
// gives the same command again), as a second inserter waits for the first on InnoDB. Claims end
// with the transaction, as the replies' status flags report it (on_reply).
// An execute of a statement id the proxy does not know while a followed prepare is still
// unanswered is `defer`red until the server has answered: it may be that prepare's id.
// It also follows the session's settings (SET NAMES, SET sql_mode, COM_RESET_CONNECTION) that
// decide how literals read.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "guard/duplicate_log.hpp"
#include "guard/guard_registry.hpp"
#include "guard/mysql_check_sql.hpp"
#include "guard/mysql_stage_sql.hpp"
#include "protocol/mysql/value_reply.hpp"
#include "proxy/claim_waiter.hpp"
#include "proxy/mysql_insert_shape.hpp"
#include "proxy/mysql_prepared_statements.hpp"
#include "proxy/mysql_session_settings.hpp"
#include "proxy/pg_session_claims.hpp"
#include "sql/parse_result.hpp"

namespace uniqguard::proxy {

// What the session knows of its client, for the duplicate log and for table names.
struct MySqlGuardSession {
    std::string client_address;
    std::string user;
    std::string database;             // the current database (COM_INIT_DB, USE)
    std::uint16_t server_status = 0;  // the last status flags the server sent
    bool status_seen = false;         // server_status comes from a reply (not the default)
    // MariaDB (else MySQL), from the server's handshake: the isolation variable's name differs
    // (@@tx_isolation; MySQL 8 has only @@transaction_isolation).
    bool mariadb = true;
};

class MySqlGuard {
  public:
    // `waiter`: woken when a claim this session waits for is released (null: tests, tools).
    MySqlGuard(std::shared_ptr<const guard::GuardRegistry> registry, guard::DuplicateLog* log,
               std::string backend_database, std::shared_ptr<ClaimWaiter> waiter = nullptr);
    ~MySqlGuard();  // Pending is defined in the .cpp

    // Guards in force: without any, nothing is parsed.
    bool active() const { return !registry_->empty(); }

    struct Step {
        enum class Kind {
            forward,  // the client's command goes to the server unchanged
            replace,  // `sql` goes as a COM_QUERY in its place (a SIGNAL the server answers
                      // with ERR or a warning, or the INSERT without its dropped rows)
            check,    // `sql` is the proxy's own query; hand its reply to on_check_reply
            rewrite,  // `sql` is a command payload (command byte first) sent in the client's
                      // command's place, with its sequence id
            defer,    // nothing sent: give the same command again once the server has answered
                      // everything owed to the client
            wait,     // nothing sent: a key it writes is claimed by another session's
                      // transaction (waiting_for()); give the same command again once the
                      // waiter is woken, or after end_wait()
        };
        Kind kind = Kind::forward;
        std::string sql;
        // Commands (payloads, command byte first) the proxy sends as its own before the step, in
        // order, once nothing is owed to the client; their replies never reach the client.
        std::vector<std::string> before = {};
        // A `replace` whose SQL (a SIGNAL) stands for the guarded statement alone: in a string
        // of several statements it takes that statement's place (in_place), not the string's.
        bool statement_only = false;
    };

    // A `replace` step: a SIGNAL of this error (or warning, for SQLSTATE 01000) in the command's
    // place; `statement_only` as in Step.
    static Step signal_step(std::uint16_t code, std::string_view sqlstate, std::string_view message,
                            bool statement_only);

    // A command (its whole payload, command byte first), before it is forwarded.
    Step on_command(std::string_view payload, MySqlSessionSettings& settings,
                    const MySqlGuardSession& session);
    // The reply to the query of the last `check` step (done or malformed): forward, replace or
    // rewrite.
    Step on_check_reply(const protocol::mysql::ValueReplyReader& reply);
    // The first packet of the server's answer to the oldest COM_STMT_PREPARE not answered yet
    // (its head: PREPARE OK or ERR).
    void on_prepare_answer(util::Bytes head);

    const MySqlPreparedStatements& prepared() const { return prepared_; }

    // A command the server answers went out (the client's, or one in its place).
    void on_command_sent() { claims_.ready_requested(); }
    // A command's answer ended: OK/EOF with its status flags, or ERR with its code (the status
    // given is then the last one known). `nothing_owed`: no other command is unanswered.
    // `affected_rows`: an OK packet's (none for EOF, ERR, a result set's end).
    void on_reply(bool error, std::uint16_t error_code, std::uint16_t status, bool nothing_owed,
                  std::optional<std::uint64_t> affected_rows = std::nullopt);

    // The server owes nothing, yet a prepare is taken as unanswered (a defer found nothing to
    // wait for): those places are dropped, so the command is not deferred again.
    void forget_unanswered_prepares() { prepared_.forget_unanswered(); }
    // The guard whose key the last `wait` is for.
    guard::GuardState* waiting_for() const { return wait_guard_; }
    const SessionClaims& session_claims() const { return claims_; }
    // The wait ended without the key's release (lock wait timeout, deadlock, KILL QUERY): the
    // command, given again, is answered by this error if the key is still held. `rollback`: the
    // transaction is rolled back first, as InnoDB does to a deadlock's victim.
    struct Interrupt {
        std::uint16_t code = 0;
        std::string sqlstate;
        std::string message;
        bool rollback = false;
    };
    void end_wait(Interrupt why) { interrupt_ = std::move(why); }

  private:
    struct GuardRows;  // one guard's view of the INSERT's rows
    struct Pending;    // an INSERT waiting for its check
    // An UPDATE setting key columns of its guards to literals (proxy/mysql_guard_update.cpp):
    // per guard whose new key holds no NULL, that key; waiting for its check.
    struct UpdateKey {
        guard::GuardState* guard = nullptr;
        std::uint64_t fingerprint = 0;  // the whole key set
        guard::MySqlKeyText text;       // the literals (nullopt: a key column not set)
        // Part of the key set: which columns; the matched rows' new keys, read by the check.
        std::vector<bool> set;
        std::vector<std::uint64_t> learned;
        // Those of `learned` the check calls duplicates (sorted once the answer is read).
        std::vector<std::uint64_t> repeated;
        // A key the stage's rows repeat among themselves that no other row holds ("!+").
        bool repeated_inside = false;
        // A staged INSERT … SELECT whose duplicates of this key are dropped, not refused
        // (INSERT IGNORE, or action "ignore"; not under "log").
        bool drop = false;
    };
    struct PendingUpdate {
        std::vector<UpdateKey> keys;
        std::string statement;
        MySqlGuardSession session;
        std::string check;      // the check's SQL, for asking again
        std::size_t asked = 0;  // times the check was asked
        // A COM_STMT_EXECUTE: its statement, and whether it binds types (finish_execute).
        bool execute = false;
        std::uint32_t statement_id = 0;
        bool binds_types = false;
        // A staged INSERT … SELECT (proxy/mysql_guard_staged.cpp): the proxy's commands
        // that fill the stage, run in turn before the check (`staged`: how many answered), and
        // the copy into the table sent in the client's statement's place once the check passes
        // (empty: every guard logs, the client's statement goes as it came).
        std::vector<std::string> stage;
        std::size_t staged = 0;
        std::string final_sql;
        bool stage_all_log = false;  // the client's statement goes whatever the stage answers
        // The check by a locking read, asked when the check is asked again (written_meanwhile).
        std::string locking_check;
        // The table as the client named it; an INSERT … SELECT's column list, for the copy
        // built from the table's columns (the first stage command's answer), and
        // LAST_INSERT_ID() before the stage's own counter moved it (put back when the statement
        // does not run).
        std::string schema, table;
        bool staged_insert = false;  // else a staged UPDATE
        bool insert_ignore = false;  // INSERT IGNORE … SELECT
        std::optional<std::vector<std::string>> insert_columns;
        // A staged UPDATE: its WHERE and alias, for the copy of its matched rows.
        std::optional<std::string> update_where;
        std::string update_alias;
        std::string last_insert_id;
    };
    // A staged statement that does not run: its SIGNAL, with LAST_INSERT_ID() put back first
    // when the stage's own AUTO_INCREMENT counter may have moved it.
    static Step staged_refusal(const PendingUpdate& p, Step signal);

    Step decide(std::string_view payload, MySqlSessionSettings& settings,
                const MySqlGuardSession& session);
    // The command is decided (not a wait): a wait's interrupt and state are over.
    void decided();
    // Claims the keys of `p`'s rows for the session's transaction; a `wait` step (or the
    // interrupt's error) when another session holds one, else nullopt.
    std::optional<Step> claim_keys(Pending& p);
    // A key of the statement is claimed by another session: a `wait` step, or the error that
    // ended the wait (end_wait); the statement's own claims are let go either way.
    Step held_by_another(guard::GuardState& g);
    // A guard of the table whose key set is not loaded: its when_unready (a refusal), or
    // nullopt when every guard is ready or lets the write through unchecked.
    std::optional<Step> unready_step(const std::vector<guard::GuardState*>& guards,
                                     std::string_view text);

    std::vector<guard::GuardState*> guards_of_table(const sql::QualifiedName& table,
                                                    std::string_view database) const;
    std::vector<guard::GuardState*> guards_named_in(std::string_view text) const;
    Step on_query(std::string_view text, MySqlSessionSettings& settings,
                  const MySqlGuardSession& session);
    // A text INSERT of a known shape (proxy/mysql_guard_shape.cpp): true when every key is new
    // and free, the keys claimed and added: it goes out unchanged. False, having changed
    // nothing, when the full way must decide it.
    bool passes_by_shape(const MySqlInsertShapePlan& plan, std::string_view text,
                         const std::vector<sql::MySqlToken>& tokens,
                         const MySqlSessionSettings& settings);
    // The plan to keep for a text's shape after the full way parsed it (nullopt: none), or
    // false when nothing may be kept yet (a guard of its table still loading).
    bool shape_plan_for(const sql::ParseResult& parsed, std::string_view text,
                        const std::vector<sql::MySqlToken>& tokens,
                        const MySqlGuardSession& session,
                        std::optional<MySqlInsertShapePlan>& plan) const;
    // The check's reply for the INSERT `p` (on_check_reply).
    Step on_insert_check_reply(Pending& p, const protocol::mysql::ValueReplyReader& reply);
    // In a string of several statements with one write to a guarded table: why the proxy cannot
    // decide that write before the string runs (nullopt: it can).
    std::optional<std::string> several_statements_refusal(const sql::ParseResult& parsed,
                                                          std::string_view text,
                                                          const sql::Statement& write,
                                                          const MySqlGuardSession& session) const;
    // The statements of a COM_QUERY that may name a guarded table.
    Step on_statements(const sql::ParseResult& parsed, std::string_view text,
                       const MySqlSessionSettings& settings, const MySqlGuardSession& session);
    Step on_prepare(std::string_view text, const MySqlSessionSettings& settings,
                    const MySqlGuardSession& session);
    // Whether a prepared INSERT into a guarded table is one whose executes the guard enforces:
    // nullopt, or the form it refuses.
    std::optional<std::string> prepared_insert_refusal(
        const sql::Statement& st, std::string_view text,
        const std::vector<guard::GuardState*>& guards, const MySqlSessionSettings& settings,
        const MySqlGuardSession& session);
    Step on_execute(std::string_view payload, const MySqlSessionSettings& settings,
                    const MySqlGuardSession& session);
    // The step for an execute, once decided: a replaced execute leaves the server without the
    // types it bound; an execute that binds none when the server lacks them gets them written in.
    Step finish_execute(Step step, std::uint32_t statement, bool binds_types);
    // An execute's statement text with its values written in (guard/mysql_param_sql.hpp), to
    // be decided, or sent, as a COM_QUERY; or the refusal (`form` names the statement) when the
    // session would not read that text as the server read the prepare, a value cannot be
    // written, or the text passes 4 MiB.
    std::variant<std::string, Step> execute_as_text(const PreparedStatement& statement,
                                                    std::string_view form, guard::GuardState& first,
                                                    const MySqlSessionSettings& settings,
                                                    const MySqlGuardSession& session,
                                                    bool parenthesize_negatives);
    // An execute of a prepared REPLACE or INSERT … ON DUPLICATE KEY UPDATE: decided as its text
    // with the execute's values written in (execute_as_text).
    Step on_prepared_upsert(const PreparedStatement& statement,
                            const std::vector<guard::GuardState*>& guards,
                            const MySqlSessionSettings& settings, const MySqlGuardSession& session);
    // `params`: a prepared INSERT's parameters at its execute (null: a text INSERT).
    Step on_insert(const sql::InsertStatement& insert, std::string_view text,
                   const std::vector<guard::GuardState*>& guards,
                   const MySqlSessionSettings& settings, const MySqlGuardSession& session,
                   const std::vector<protocol::mysql::ExecuteParam>* params = nullptr);
    // COM_STMT_SEND_LONG_DATA: its chunk kept for the statement it names (MariaDB's -1
    // resolved; `defer` while the prepare it may name is not answered).
    Step on_send_long_data(std::string_view payload);
    // XA PREPARE in a transaction that claimed keys.
    Step xa_prepare_refusal();
    // An UPDATE that sets a key column of `guards` (each guard of the table it sets one of);
    // `prepared` and `params`: a prepared UPDATE's statement and its parameters at one execute
    // (null: a text UPDATE).
    Step on_update(const sql::UpdateStatement& update, std::string_view text,
                   const std::vector<guard::GuardState*>& guards,
                   const MySqlSessionSettings& settings, const MySqlGuardSession& session,
                   const PreparedStatement* prepared = nullptr,
                   const std::vector<protocol::mysql::ExecuteParam>* params = nullptr);
    // The forms of an UPDATE of key columns the guard does not enforce, whatever its values.
    static std::optional<std::string> update_refusal(const sql::UpdateStatement& update,
                                                     std::string_view text,
                                                     const sql::MySqlDialect& dialect);
    // The guards whose key columns `update` sets (of its table; for a multi-table UPDATE, every
    // guard whose table it names).
    std::vector<guard::GuardState*> guards_set_by(const sql::UpdateStatement& update,
                                                  std::string_view statement_text,
                                                  std::string_view database) const;
    // Whether a prepared UPDATE of key columns is one whose executes the guard enforces:
    // nullopt, or the form it refuses.
    std::optional<std::string> prepared_update_refusal(const sql::Statement& st,
                                                       std::string_view text,
                                                       const MySqlSessionSettings& settings,
                                                       const MySqlGuardSession& session) const;
    Step on_update_check_reply(const protocol::mysql::ValueReplyReader& reply);
    // A text INSERT … SELECT (or … TABLE, WITH …) alone in its COM_QUERY: staged, its keys read
    // from the stage and checked as an UPDATE's new keys, then copied
    // (proxy/mysql_guard_staged.cpp).
    Step on_insert_select(const sql::InsertStatement& insert, const sql::Statement& statement,
                          std::string_view text, const std::vector<guard::GuardState*>& guards,
                          const MySqlGuardSession& session);
    // A text UPDATE setting a key column to a value the proxy cannot key (an expression,
    // DEFAULT…): the rows it matches staged with its SET list applied, their new keys checked
    // against the rows it leaves (mysql_guard_staged.cpp); the UPDATE goes unchanged.
    Step on_update_staged(const sql::UpdateStatement& update, std::string_view text,
                          const std::vector<guard::GuardState*>& guards,
                          const MySqlSessionSettings& settings, const MySqlGuardSession& session);
    // An execute of a prepared UPDATE setting a key column to a value the proxy cannot key:
    // staged as its text with the execute's values written in would be in a COM_QUERY; the
    // client's execute goes once the keys pass.
    Step on_prepared_update_staged(const PreparedStatement& statement,
                                   const std::vector<guard::GuardState*>& guards,
                                   const MySqlSessionSettings& settings,
                                   const MySqlGuardSession& session);
    // on_update_staged, or for an execute (`prepared`) on_prepared_update_staged.
    Step stage_update(const sql::UpdateStatement& update, std::string_view text,
                      const std::vector<guard::GuardState*>& guards,
                      const MySqlSessionSettings& settings, const MySqlGuardSession& session,
                      const PreparedStatement* prepared) {
        return prepared ? on_prepared_update_staged(*prepared, guards, settings, session)
                        : on_update_staged(update, text, guards, settings, session);
    }
    // The reply to one of a staged statement's stage commands: the next one, the check, or the
    // statement's error.
    Step on_stage_reply(const protocol::mysql::ValueReplyReader& reply);
    // The answer of a staged INSERT … SELECT's columns query: its copy (p.final_sql), or the
    // refusal when a column cannot be copied.
    std::optional<Step> plan_copy(PendingUpdate& p, std::string_view answer);
    // The same for a staged UPDATE: the copy of its matched rows into the stage.
    std::optional<Step> plan_fill(PendingUpdate& p, std::string_view answer);
    // A staged statement's first step: `p` (its keys and form) given its SQL; its keys' claims
    // begun.
    Step begin_staged(PendingUpdate p, guard::MySqlStageSql sql, std::string_view text,
                      const MySqlGuardSession& session);
    // A staged statement's check reads by a locking read: after a wait, or in a transaction
    // (mysql_guard_staged.cpp).
    bool locking_check_wanted(const MySqlGuardSession& session) const;
    // Claims the UPDATE's new keys (as claim_keys).
    std::optional<Step> claim_update_keys(const PendingUpdate& p);
    // The UPDATE goes out: its new keys join the key sets; counted.
    static Step pass_update(const PendingUpdate& p);
    // A part-of-key probe's answer ("<n>/<key>,…"): its new keys learnt into `key`, each
    // duplicate's text into `duplicates` (in the answer's order); false when the answer is not
    // whole.
    static bool read_new_keys(UpdateKey& key, std::string_view answer,
                              std::vector<guard::MySqlKeyText>& duplicates);
    void log_update_duplicate(const PendingUpdate& p, const UpdateKey& key,
                              guard::DuplicateAction action);
    // A form the slice does not enforce: refused (log: forwarded with a warning).
    Step unenforced(guard::GuardState& g, std::string_view what);
    // The INSERT passes: its keys join the key sets; counted.
    Step pass(Pending& p);
    // The INSERT's rows as dropping them needs (its text's ranges, IGNORE, RETURNING, whether
    // it is an execute).
    static void note_rows(Pending& p, const sql::InsertStatement& insert, bool execute);
    Step verdict(Pending& p, const std::string* exists);
    // Whether a REPLACE's or ON DUPLICATE KEY UPDATE's probe of its existing rows is a locking
    // read (mysql_guard.cpp).
    static bool upsert_probe_locks(const Pending& p);
    // A REPLACE or ON DUPLICATE KEY UPDATE whose row `row` has a key that exists (or that an
    // earlier row writes): the one-row update named by its primary key, or ERR 1235.
    Step upsert_step(Pending& p, const GuardRows& r, std::size_t row);
    // Some rows dropped (p.dropped): the INSERT without them, or the warning a real INSERT IGNORE
    // gives when it inserts nothing; `record` logs and counts them once that is settled (a
    // form the proxy cannot cut is refused, and records nothing).
    Step drop_rows(Pending& p, guard::GuardState* first_guard, const std::function<void()>& record,
                   const std::string& first_duplicate);
    void log_duplicate(const Pending& p, const GuardRows& rows, std::size_t row,
                       guard::DuplicateAction action);

    std::shared_ptr<const guard::GuardRegistry> registry_;
    guard::DuplicateLog* log_;
    std::string backend_database_;
    std::unique_ptr<Pending> pending_;
    // While on_insert decides a write that is one statement of several in a COM_QUERY string:
    // that statement's text (without whitespace and comments around it) in the string.
    sql::SourceRange statement_in_string_;
    std::optional<PendingUpdate> pending_update_;
    MySqlPreparedStatements prepared_;
    // The execute being decided: its payload and statement (for finish_execute).
    std::string execute_payload_;
    std::optional<protocol::mysql::StmtExecute> execute_;
    // The execute's long data the proxy kept (its parameters' values point into it).
    MySqlPreparedStatements::LongValues execute_long_values_;
    // COM_STMT_SEND_LONG_DATA went to a statement the proxy could not name (MariaDB's -1 after a
    // failed prepare): every guarded execute is refused until the statements are forgotten.
    bool unnamed_long_data_ = false;
    // The last execute waited: given again, it is decided from execute_ (decoding it again would
    // find its long data spent and, without types, the types it bound).
    bool execute_waited_ = false;

    // The keys this session's transactions in flight write, and the wait in progress.
    std::shared_ptr<ClaimWaiter> waiter_;
    SessionClaims claims_;
    // The commit_clock() tick when the session last sent a command outside a transaction (the
    // status of the last reply): a key another session committed after it may be missing from
    // the snapshot of the session's transaction now (REPEATABLE READ). And whether a rollback
    // was sent since (on_reply).
    std::uint64_t transaction_start_ = guard::commit_clock().load(std::memory_order_acquire);
    bool rollback_sent_ = false;
    // The INSERTs whose claims record a commit, by the answer that ends each (claims_'s
    // `ready`): an answer saying the INSERT wrote none of those keys unrecords them (on_reply;
    // else a REPEATABLE READ check of another session finds a false duplicate).
    struct RecordedWrite {
        std::uint64_t answer;
        bool own_answer;  // alone in its command: the answer is this statement's
        // ON DUPLICATE KEY UPDATE's rows (0 for another INSERT): 2 affected per row is every
        // row updated (no form counts more per row).
        std::size_t upsert_rows;
        // Sent in autocommit outside a transaction (or while earlier commands were unanswered,
        // their status unknown): it commits itself (~MySqlGuard).
        bool commits_itself;
    };
    void note_recorded_write(bool own_answer, std::size_t upsert_rows);
    std::vector<RecordedWrite> recorded_writes_;
    // Each BEGIN, START TRANSACTION, COMMIT or ROLLBACK (not TO a savepoint) sent inside a
    // transaction and not answered yet: its OK ends that transaction even when it says one is
    // open (the next: a BEGIN commits first, AND CHAIN opens one), so the claims of the
    // commands before it end with that answer (on_reply), not committed when a ROLLBACK was
    // sent in it; and the next transaction's snapshot is after the clock's tick at sending.
    struct TransactionEnd {
        std::uint64_t answer;
        std::uint64_t tick;
        bool rolled_back;
    };
    std::vector<TransactionEnd> transaction_ends_;
    // Each SAVEPOINT, ROLLBACK TO and RELEASE SAVEPOINT sent alone (read_mysql_savepoint_command)
    // and not answered yet, followed in claims_ at its OK, as InnoDB follows it
    // (mysql_guard_savepoints.cpp).
    struct SavepointCommand {
        std::uint64_t answer;
        TransactionCommand command;
        std::uint64_t mark;  // SessionClaims::new_savepoint_mark() at sending (SAVEPOINT)
    };
    std::vector<SavepointCommand> savepoint_commands_;
    // A forwarded command: true when it is a savepoint command, queued.
    bool note_savepoint_command(std::string_view payload);
    // Follows `c`, answered by an OK (or, at the session's end, never answered). false: a
    // ROLLBACK TO whose savepoint the proxy did not follow (how much it undid is unknown).
    bool follow_savepoint_command(const SavepointCommand& c);
    // The status flags the session's last answer had when the command being decided came.
    std::uint16_t command_status_ = 0;
    guard::GuardState* wait_guard_ = nullptr;
    std::optional<Interrupt> interrupt_;
};

// The error text of a refusal, as the client sees it.
std::string mysql_unenforced_message(std::string_view what, std::string_view table,
                                     std::string_view guard);

}  // namespace uniqguard::proxy
