#include "proxy/mysql_guard.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <variant>

#include "guard/claim_waits.hpp"
#include "guard/key_fingerprint.hpp"
#include "guard/mysql_insert_keys.hpp"
#include "guard/mysql_param_sql.hpp"
#include "guard/mysql_row_drop.hpp"
#include "guard/mysql_upsert_sql.hpp"
#include "protocol/mysql/command_tracker.hpp"
#include "protocol/mysql/error_codes.hpp"
#include "protocol/mysql/wire.hpp"
#include "proxy/mysql_guard_names.hpp"
#include "sql/mysql_leading_words.hpp"
#include "sql/mysql_parser.hpp"
#include "sql/mysql_shape.hpp"
#include "util/ascii_search.hpp"

namespace uniqguard::proxy {

namespace my = protocol::mysql;

using namespace mysql_names;

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// ON DUPLICATE KEY UPDATE that assigns a key column: the row it updates (through another
// unique key of the table) would take a key the proxy never checked.
bool upsert_sets_key_column(const sql::InsertStatement& insert,
                            const std::vector<guard::GuardState*>& guards) {
    for (const auto& a : insert.on_conflict.assignments)
        for (const auto* g : guards)
            for (const auto& k : g->config().columns)
                if (same_name(column_of(a.column), k)) return true;
    return false;
}

// The first piece (up to its first `;`) of one of MariaDB's compound statements, which run
// outside stored programs too: BEGIN NOT ATOMIC, IF, CASE, LOOP, WHILE, REPEAT, FOR, or a label
// before one. The parser cuts at every `;`, so their bodies come as pieces that look like
// statements of their own, and a loop may run one of them many times.
bool compound_piece(const sql::Statement& st, std::string_view text) {
    const auto* other = st.get<sql::OtherStatement>();
    if (!other) return false;
    for (std::string_view node :
         {"begin_stmt", "if_stmt", "case_stmt", "loop_stmt", "repeat_stmt", "while_stmt",
          "for_stmt", "declare_stmt", "end_stmt", "leave_stmt", "iterate_stmt", "elseif_stmt",
          "else_stmt", "until_stmt"})
        if (other->node == node) return true;
    // `label: LOOP …`: a word and a colon (`:=` is an assignment, not a label).
    const auto t = st.trimmed.text(text);
    std::size_t i = 0;
    while (i < t.size() && (std::isalnum(static_cast<unsigned char>(t[i])) || t[i] == '_' ||
                            t[i] == '$' || t[i] == '`'))
        ++i;
    while (i < t.size() && std::isspace(static_cast<unsigned char>(t[i]))) ++i;
    return i > 0 && i < t.size() && t[i] == ':' && (i + 1 == t.size() || t[i + 1] != '=');
}

constexpr std::string_view upsert_replace = "REPLACE";
// The keys one check query asks about. MariaDB's memory and time for one query of many
// subqueries grow faster than their number (reviews measured, for the plain check, 1.18 GB at
// 4,000 keys and 17 s at 10,000; for the ON DUPLICATE KEY UPDATE probe 338 MB at 1,000): more
// keys are asked in several queries, one after the other, in the same session.
constexpr std::size_t kMaxProbesPerCheck = 100;
constexpr std::string_view upsert_odku = "INSERT … ON DUPLICATE KEY UPDATE";
// The longest COM_QUERY text the shape path takes (mysql_insert_shape.hpp).
constexpr std::size_t kMaxShapeTextBytes = 64u << 10;

bool starts_with_insert(std::string_view text) {
    const auto first = sql::mysql_leading_words(text, 1);
    return first.words.size() == 1 && first.words.front() == "insert";
}

// A statement whose answer ends the transaction open when it was sent, even where that answer
// says a transaction is open: BEGIN [WORK] and START TRANSACTION … (InnoDB commits the open one
// first), COMMIT and ROLLBACK [WORK] (with AND CHAIN, or completion_type = CHAIN, the next one
// opens at once). Not BEGIN NOT ATOMIC (a compound statement), ROLLBACK [WORK] TO (a savepoint).
bool ends_transaction(std::string_view text) {
    // Every COM_QUERY in a transaction comes here: most leave at the first character.
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos ||
        std::string_view("bBsScCrR/#-").find(text[first]) == std::string_view::npos)
        return false;
    const auto w = sql::mysql_leading_words(text, 3).words;
    if (w.empty()) return false;
    if (w[0] == "begin") return w.size() == 1 || w[1] == "work" || w[1].empty();
    if (w[0] == "start") return w.size() >= 2 && w[1] == "transaction";
    if (w[0] != "commit" && w[0] != "rollback") return false;
    const std::size_t after = w.size() > 1 && w[1] == "work" ? 2 : 1;
    return after >= w.size() || w[after] != "to";
}

// The INSERT's SIGNALs stand for it alone: in a string of several they take its place.
MySqlGuard::Step signal(std::uint16_t code, std::string_view sqlstate, std::string_view message) {
    return MySqlGuard::signal_step(code, sqlstate, message, true);
}

// A SIGNAL for one statement of a string of several, put in that statement's place: the
// statements before it run and answer as the server's own, an error stops the string there as
// the server's own error would, and after a warning (every row dropped) the rest runs. A deadlock
// victim's SIGNAL (after the proxy's ROLLBACK) replaces the whole string instead: the statements
// before it belonged to the transaction that is rolled back (docs/mysql.md).
MySqlGuard::Step in_place(MySqlGuard::Step step, std::string_view text,
                          sql::SourceRange statement) {
    if (step.kind != MySqlGuard::Step::Kind::replace || !step.statement_only ||
        !step.before.empty() || !statement.known() || statement.end() > text.size())
        return step;
    step.sql = std::string(text.substr(0, statement.offset)) + step.sql +
               std::string(text.substr(statement.end()));
    return step;
}

}  // namespace

MySqlGuard::Step MySqlGuard::signal_step(std::uint16_t code, std::string_view sqlstate,
                                         std::string_view message, bool statement_only) {
    return {
        Step::Kind::replace, guard::mysql_signal_sql(code, sqlstate, message), {}, statement_only};
}

std::string mysql_unenforced_message(std::string_view what, std::string_view table,
                                     std::string_view guard) {
    return "uniqguard: " + std::string(what) + " on table \"" + std::string(table) +
           "\" is not enforced by guard \"" + std::string(guard) +
           "\" yet; the statement was refused";
}

// One guard's view of the INSERT's rows: per row, its key's encoding and fingerprint, the key
// as text, and whether it holds a NULL (then it never conflicts).
struct MySqlGuard::GuardRows {
    guard::GuardState* guard = nullptr;
    std::vector<std::string> encoded;
    std::vector<std::uint64_t> fingerprints;
    std::vector<guard::MySqlKeyText> texts;
    std::vector<bool> has_null;
    // For each row: the earlier row with the same key (npos: none).
    std::vector<std::size_t> same_as_earlier;
    // For each row: its place in the check's answer (npos: not asked).
    std::vector<std::size_t> probe;
};

struct MySqlGuard::Pending {
    std::vector<GuardRows> guards;
    std::size_t rows = 0;
    std::size_t probes = 0;
    std::string statement;  // for the duplicate log, and cut when rows are dropped
    MySqlGuardSession session;
    // What dropping rows needs (verdict): each row's text in `statement`, whether the client
    // wrote INSERT IGNORE, whether it returns rows; and, once decided, the rows dropped.
    std::vector<sql::SourceRange> row_ranges;
    bool insert_ignore = false;
    bool returning = false;
    // REPLACE or ON DUPLICATE KEY UPDATE (what the client wrote; empty for a plain INSERT): a
    // row of it whose key exists is decided by upsert_step.
    std::string_view upsert;
    // An ON DUPLICATE KEY UPDATE into a table with an integer primary key: that column (its
    // check is mysql_upsert_probes_sql), and once checked, per probe, the rows with the key.
    std::string primary_key;
    std::optional<std::vector<guard::MySqlUpsertProbeAnswer>> existing;
    std::vector<bool> dropped;
    // The check's queries (kMaxProbesPerCheck keys each, in probe order), how many are
    // answered, and the answers so far: per probe '1' when a row has the key.
    std::vector<std::string> checks;
    std::size_t checks_answered = 0;
    std::string exists;
    // Per probe: another session committed the key since this session was last outside a
    // transaction (KeyClaims::committed_after); per check: it asks the session's isolation
    // first (mysql_exists_sql's `snapshot_marker`).
    std::vector<bool> committed_since;
    std::vector<bool> marked;
    // A COM_STMT_EXECUTE: its statement, and whether it binds types (finish_execute).
    bool execute = false;
    std::uint32_t statement_id = 0;
    bool binds_types = false;
    // One statement of a string of several: its text in `statement` (the whole string).
    sql::SourceRange in_string;
};

MySqlGuard::MySqlGuard(std::shared_ptr<const guard::GuardRegistry> registry,
                       guard::DuplicateLog* log, std::string backend_database,
                       std::shared_ptr<ClaimWaiter> waiter)
    : registry_(std::move(registry)),
      log_(log),
      backend_database_(std::move(backend_database)),
      waiter_(std::move(waiter)),
      claims_(new_claim_owner(), waiter_) {}

MySqlGuard::~MySqlGuard() {
    // The session ends with commands sent and not answered (the client closed without waiting
    // for them): the server still runs each command it received. A COMMIT (or a BEGIN, which
    // commits first) commits the keys claimed before it, and an INSERT sent in autocommit
    // outside a transaction commits its own: recorded as such, erring towards the duplicate
    // should the server not have run them. Otherwise every claim ends without a record.
    // In the order sent, each with its own verdict (a ROLLBACK then a COMMIT commits nothing
    // the ROLLBACK ended).
    const std::uint64_t sent_before = claims_.next_ready();
    std::size_t w = 0;
    // The INSERTs sent before answer `until` that commit themselves.
    auto commit_writes_before = [&](std::uint64_t until) {
        for (; w < recorded_writes_.size() && recorded_writes_[w].answer < until; ++w)
            if (recorded_writes_[w].commits_itself)
                claims_.end_transaction_before(recorded_writes_[w].answer + 1, true);
    };
    // The savepoint commands sent before answer `until`, as if answered OK: false when a
    // ROLLBACK TO among them undid what the proxy cannot tell.
    std::size_t s = 0;
    auto follow_savepoints_before = [&](std::uint64_t until) {
        bool followed = true;
        for (; s < savepoint_commands_.size() && savepoint_commands_[s].answer < until; ++s)
            followed = follow_savepoint_command(savepoint_commands_[s]) && followed;
        return followed;
    };
    for (const auto& e : transaction_ends_) {
        if (e.answer >= sent_before) break;
        commit_writes_before(e.answer);
        const bool followed = follow_savepoints_before(e.answer);
        claims_.end_transaction_before(e.answer, !e.rolled_back && followed);
    }
    commit_writes_before(sent_before);
    // A session may end inside a wait: no edge of it may stay in the process-wide wait graph.
    if (claims_.wanted().table) guard::ClaimWaits::process().done(claims_.owner());
}

void MySqlGuard::on_reply(bool error, std::uint16_t error_code, std::uint16_t status,
                          bool nothing_owed, std::optional<std::uint64_t> affected_rows) {
    // An INSERT that wrote none of its keys records no commit of them: an ERR undoes the whole
    // statement (InnoDB; a deadlock's victim loses its transaction, which commits nothing
    // anyway), and no row affected is every row skipped (INSERT IGNORE turned by the primary
    // key, ON DUPLICATE KEY UPDATE that changed nothing), and 2 per row of ON DUPLICATE KEY
    // UPDATE every row updated. Without these, a REPEATABLE READ check of another session took
    // the key for a row its snapshot hides: a false duplicate. The answer of a string of
    // several statements is the last one's: left alone (a row written counts, erring towards
    // the duplicate).
    const std::uint64_t answer = claims_.next_answer();
    std::erase_if(recorded_writes_, [&](const RecordedWrite& w) { return w.answer < answer; });
    if (!recorded_writes_.empty() && recorded_writes_.front().answer == answer) {
        const RecordedWrite w = recorded_writes_.front();
        recorded_writes_.erase(recorded_writes_.begin());
        const bool wrote_none =
            w.own_answer &&
            (error ||
             (affected_rows &&
              (*affected_rows == 0 || (w.upsert_rows > 0 && *affected_rows == 2 * w.upsert_rows))));
        if (wrote_none) claims_.unrecord(answer);
    }
    std::erase_if(transaction_ends_, [&](const TransactionEnd& e) { return e.answer < answer; });
    if (!transaction_ends_.empty() && transaction_ends_.front().answer == answer) {
        // A BEGIN inside a transaction, or a COMMIT / ROLLBACK that chains: its OK means the
        // old transaction ended (an ERR leaves it open, and the snapshot where it was).
        // Before, its claims lasted until the new one ended: another session's INSERT of such
        // a key waited for them (1205) where the unique key says 1062, and a ROLLBACK of the
        // new one took the old one's commit record with it.
        const TransactionEnd e = transaction_ends_.front();
        transaction_ends_.erase(transaction_ends_.begin());
        if (!error) {
            claims_.end_transaction_before(answer, !e.rolled_back);
            transaction_start_ = std::max(transaction_start_, e.tick);
        }
    }
    std::erase_if(savepoint_commands_,
                  [&](const SavepointCommand& c) { return c.answer < answer; });
    if (!savepoint_commands_.empty() && savepoint_commands_.front().answer == answer) {
        // An ERR did nothing (1305: no such savepoint). A ROLLBACK TO a savepoint the proxy
        // did not follow counts its transaction as rolled back: the one this answer leaves
        // open, and the one the next transaction end sent after it (pipelined) ends. Both,
        // since an end sent while the status was stale is not listed (a review found the mark
        // on a later transaction's BEGIN, and the undone key recorded): erring towards none.
        const SavepointCommand c = std::move(savepoint_commands_.front());
        savepoint_commands_.erase(savepoint_commands_.begin());
        if (!error && !follow_savepoint_command(c)) {
            if (!transaction_ends_.empty()) transaction_ends_.front().rolled_back = true;
            rollback_sent_ = true;
        }
    }
    // Whether a transaction is still open after this answer. ERR carries no status flags: a
    // deadlock's victim has its whole transaction rolled back (InnoDB); after any other error
    // the transaction is as before the command, open if one was or if autocommit is off.
    bool in_transaction = false;
    if (!error)
        in_transaction = (status & my::server_status::in_transaction) != 0;
    else if (error_code != my::error_code::lock_deadlock)
        in_transaction = (status & my::server_status::in_transaction) != 0 ||
                         (status & my::server_status::autocommit) == 0;
    // An answer that leaves no transaction open, is no error, and ends no transaction in which
    // a rollback was sent commits the keys its claims wrote: recorded in the guard's commit
    // ring (KeyClaims::committed_after), read by the REPEATABLE READ check below.
    claims_.on_ready_for_query(in_transaction ? protocol::postgres::TransactionStatus::in_block
                                              : protocol::postgres::TransactionStatus::idle,
                               nothing_owed, !error && !in_transaction && !rollback_sent_);
    if (!in_transaction) {
        rollback_sent_ = false;
        claims_.clear_savepoints();
    }
}

void MySqlGuard::note_recorded_write(bool own_answer, std::size_t upsert_rows) {
    // A statement decided again (after a wait, a defer) is sent as the same command.
    const std::uint64_t answer = claims_.next_ready();
    if (!recorded_writes_.empty() && recorded_writes_.back().answer == answer)
        recorded_writes_.pop_back();
    // The status is the last answer's: with commands sent before this one still unanswered it
    // may be stale (a COMMIT or BEGIN among them), and the write counts as committing itself,
    // erring towards the record.
    const bool status_current = claims_.next_answer() == answer;
    const bool commits_itself =
        !status_current || ((command_status_ & my::server_status::in_transaction) == 0 &&
                            (command_status_ & my::server_status::autocommit) != 0);
    recorded_writes_.push_back({answer, own_answer, upsert_rows, commits_itself});
}

std::optional<MySqlGuard::Step> MySqlGuard::claim_keys(Pending& p) {
    claims_.begin_statement();
    note_recorded_write(!p.in_string.known(), p.upsert == upsert_odku ? p.rows : 0);
    for (auto& r : p.guards) {
        auto& g = *r.guard;
        // `log` changes nothing on the wire: it never waits, so it claims nothing.
        if (g.config().action == config::GuardAction::log) continue;
        for (std::size_t row = 0; row < r.fingerprints.size(); ++row) {
            if (r.has_null[row] || claims_.claim(g.claims(), r.fingerprints[row], 0, true))
                continue;
            return held_by_another(g);
        }
    }
    return std::nullopt;
}

MySqlGuard::Step MySqlGuard::held_by_another(guard::GuardState& g) {
    // None of this statement's keys stay claimed while it waits (it is decided afresh
    // afterwards).
    claims_.release_statement();
    if (interrupt_) {
        // The wait ended without the release: the server raises the error in the statement's
        // place, so the transaction goes on as after InnoDB's own (the whole transaction rolled
        // back first for a deadlock's victim).
        const Interrupt why = std::move(*interrupt_);
        interrupt_.reset();
        wait_guard_ = nullptr;
        g.counters().refused.fetch_add(1, std::memory_order_relaxed);
        Step step = signal(why.code, why.sqlstate, why.message);
        if (why.rollback)
            step.before.push_back(std::string(1, static_cast<char>(my::Command::query)) +
                                  "ROLLBACK");
        return step;
    }
    wait_guard_ = &g;
    if (waiter_) waiter_->arm();
    return Step{Step::Kind::wait};
}

std::optional<MySqlGuard::Step> MySqlGuard::unready_step(
    const std::vector<guard::GuardState*>& guards, std::string_view text) {
    // Not loaded yet: when_unready, for every guard of the table.
    for (auto* g : guards) {
        if (g->state() == guard::GuardLoadState::ready) continue;
        const auto& cfg = g->config();
        if (cfg.when_unready == config::WhenUnready::forward ||
            cfg.action == config::GuardAction::log) {
            g->counters().forwarded_unready.fetch_add(1, std::memory_order_relaxed);
            spdlog::warn(
                "guard {}: key set not ready; write forwarded unchecked (when_unready = "
                "\"forward\"): {}",
                cfg.name, text.substr(0, 200));
            continue;
        }
        g->counters().refused.fetch_add(1, std::memory_order_relaxed);
        const std::string why = g->state() == guard::GuardLoadState::failed
                                    ? "its key set could not be loaded: " + g->failure()
                                    : "its key set is still loading";
        return signal(my::error_code::not_supported_yet, "42000",
                      "uniqguard: writes to table \"" + table_of(*g) +
                          "\" are refused until guard \"" + cfg.name + "\" is ready (" + why + ")");
    }
    return std::nullopt;
}

std::vector<guard::GuardState*> MySqlGuard::guards_of_table(const sql::QualifiedName& table,
                                                            std::string_view database) const {
    std::vector<guard::GuardState*> out;
    // The database the statement writes to: its own qualifier, else the session's current one
    // (unknown: every guard of that table name counts).
    const std::string_view target_db = table.schema.empty() ? database : table.schema;
    for (const auto& g : registry_->guards()) {
        std::string schema, name;
        if (const auto* t = g->mysql_table()) {
            schema = t->schema;
            name = t->name;
        } else {
            const auto& configured = g->config().table;
            const auto dot = configured.find('.');
            schema = dot == std::string::npos ? backend_database_ : configured.substr(0, dot);
            name = dot == std::string::npos ? configured : configured.substr(dot + 1);
        }
        if (!same_name(name, table.name)) continue;
        if (!target_db.empty() && !same_name(schema, target_db)) continue;
        out.push_back(g.get());
    }
    return out;
}

std::vector<guard::GuardState*> MySqlGuard::guards_set_by(const sql::UpdateStatement& update,
                                                          std::string_view statement_text,
                                                          std::string_view database) const {
    // A multi-table UPDATE may name the guarded table anywhere in its list: every guard whose
    // table name appears counts (over-guarded, never under).
    auto guards =
        update.has_from ? guards_named_in(statement_text) : guards_of_table(update.table, database);
    std::erase_if(guards, [&](guard::GuardState* g) {
        // An UPDATE that sets no key column leaves every key as it is.
        for (const auto& a : update.assignments)
            for (const auto& k : g->config().columns)
                if (same_name(column_of(a.column), k)) return false;
        return true;
    });
    return guards;
}

std::vector<guard::GuardState*> MySqlGuard::guards_named_in(std::string_view text) const {
    std::vector<guard::GuardState*> out;
    for (const auto& g : registry_->guards()) {
        const auto& configured = g->config().table;
        const auto dot = configured.find('.');
        const std::string name =
            lower(dot == std::string::npos ? configured : configured.substr(dot + 1));
        if (util::contains_ignoring_case(text, name)) out.push_back(g.get());
    }
    return out;
}

MySqlGuard::Step MySqlGuard::on_command(std::string_view payload, MySqlSessionSettings& settings,
                                        const MySqlGuardSession& session) {
    command_status_ = session.server_status;
    auto step = decide(payload, settings, session);
    // A savepoint command alone is followed at its answer (mysql_guard_savepoints.cpp).
    const bool savepoint_command =
        step.kind == Step::Kind::forward && note_savepoint_command(payload);
    // A transaction that may roll back records no commit (on_reply): a text naming ROLLBACK
    // anywhere (XA ROLLBACK, a string of several: erring towards none; not a ROLLBACK TO
    // alone, followed as a savepoint command), or a command that ends the session's
    // transaction that way. Only while claims are held (this command's own taken by now):
    // without them there is nothing to record, and the text is not searched.
    if (claims_.held() > 0 && !payload.empty() && !savepoint_command) {
        const auto command = static_cast<my::Command>(static_cast<std::uint8_t>(payload[0]));
        if (command == my::Command::reset_connection || command == my::Command::change_user ||
            ((command == my::Command::query || command == my::Command::stmt_prepare) &&
             util::contains_ignoring_case(payload, "rollback")))
            rollback_sent_ = true;
    }
    // A statement that ends the open transaction (and may open the next at once): its claims
    // end with its OK (on_reply), and the next transaction's snapshot is taken after this. A
    // ROLLBACK sent before it belongs to the transaction it ends, not to the next.
    if (step.kind == Step::Kind::forward &&
        (session.server_status & my::server_status::in_transaction) != 0 && payload.size() > 1 &&
        static_cast<my::Command>(static_cast<std::uint8_t>(payload[0])) == my::Command::query &&
        ends_transaction(payload.substr(1))) {
        transaction_ends_.push_back({claims_.next_ready(),
                                     guard::commit_clock().load(std::memory_order_acquire),
                                     rollback_sent_});
        rollback_sent_ = false;
    }
    // A check may still end in a wait (an UPDATE of part of a key claims after it): the
    // command is decided only with the check's reply.
    if (step.kind != Step::Kind::wait && step.kind != Step::Kind::check) decided();
    return step;
}

void MySqlGuard::decided() {
    // An interrupt is for the command that waited, answered now either way.
    interrupt_.reset();
    wait_guard_ = nullptr;
    execute_waited_ = false;
}

MySqlGuard::Step MySqlGuard::decide(std::string_view payload, MySqlSessionSettings& settings,
                                    const MySqlGuardSession& session) {
    if (payload.empty()) return {};
    const auto command = static_cast<my::Command>(static_cast<std::uint8_t>(payload[0]));
    // Sent outside a transaction: a transaction this command (or a later one) begins takes its
    // snapshot after this tick (a review found the tick of the last answer too early: a key
    // committed and deleted while a pooled session idled was a false duplicate).
    if ((session.server_status & my::server_status::in_transaction) == 0)
        transaction_start_ = guard::commit_clock().load(std::memory_order_acquire);
    switch (command) {
        case my::Command::reset_connection:
        case my::Command::change_user:
            settings.reset();
            prepared_.clear();
            unnamed_long_data_ = false;
            return {};
        case my::Command::query:
            if (claims_.held() > 0 && util::contains_ignoring_case(payload, "prepare")) {
                // Any statement of the string (XA END 'x'; XA PREPARE 'x' comes in one).
                const auto text = payload.substr(1);
                const auto xa_prepare = [](std::string_view statement) {
                    const auto words = sql::mysql_leading_words(statement, 2).words;
                    return words.size() == 2 && words[0] == "xa" && words[1] == "prepare";
                };
                if (xa_prepare(text)) return xa_prepare_refusal();
                const auto parsed = sql::parse_mysql(text, settings.dialect());
                // Unreadable: the server may still run the statements before its error.
                if (!parsed && util::contains_ignoring_case(text, "xa"))
                    return xa_prepare_refusal();
                for (const auto& st : parsed.statements)
                    if (xa_prepare(st.trimmed.text(text))) return xa_prepare_refusal();
            }
            return on_query(payload.substr(1), settings, session);
        case my::Command::stmt_prepare:
            return on_prepare(payload.substr(1), settings, session);
        case my::Command::stmt_execute:
            return on_execute(payload, settings, session);
        case my::Command::stmt_send_long_data:
            return on_send_long_data(payload);
        case my::Command::stmt_reset:
        case my::Command::stmt_close:
            if (payload.size() >= 5) {
                const auto id =
                    my::read_u32_le(reinterpret_cast<const std::uint8_t*>(payload.data()) + 1);
                if (command == my::Command::stmt_close)
                    prepared_.on_close(id);
                else
                    prepared_.on_reset(id);
            }
            return {};
        default:
            return {};
    }
}

MySqlGuard::Step MySqlGuard::on_send_long_data(std::string_view payload) {
    if (payload.size() < 7) return {};  // the server refuses it
    const auto* p = reinterpret_cast<const std::uint8_t*>(payload.data());
    std::uint32_t id = my::read_u32_le(p + 1);
    if (id == 0xFFFFFFFFu) {
        // MariaDB: the statement of the last prepare, as for an execute.
        bool unanswered = false;
        const auto last = prepared_.last_prepared(unanswered);
        if (unanswered) return Step{Step::Kind::defer};
        if (!last) {
            // After a failed prepare the proxy cannot tell which statement takes it.
            if (prepared_.last_prepare_failed() && prepared_.size() > 0) unnamed_long_data_ = true;
            return {};
        }
        id = *last;
    } else if (!prepared_.find(id) && prepared_.followed_unanswered()) {
        // Maybe the id the server gives a followed prepare sent just before (no answer yet).
        return Step{Step::Kind::defer};
    }
    prepared_.on_send_long_data(id, static_cast<std::uint16_t>(p[5] | (p[6] << 8)),
                                util::as_bytes(payload.substr(7)));
    return {};
}

MySqlGuard::Step MySqlGuard::xa_prepare_refusal() {
    // After XA PREPARE the outcome is decided by an XA COMMIT or XA ROLLBACK that may come from
    // any session, or never, and the prepared transaction outlives this connection: the keys it
    // wrote could be neither confirmed nor freed (their claims end with this session). Refused
    // as the PostgreSQL guard refuses PREPARE TRANSACTION; the XA transaction stays open, to be
    // ended with XA COMMIT … ONE PHASE or XA ROLLBACK.
    auto& g = *registry_->guards().front();
    g.counters().refused.fetch_add(1, std::memory_order_relaxed);
    return signal(my::error_code::not_supported_yet, "42000",
                  "uniqguard: XA PREPARE is refused in a transaction that wrote keys guarded by "
                  "uniqguard (a two-phase commit cannot be followed: XA COMMIT may come from "
                  "another session); end it with XA COMMIT ... ONE PHASE or XA ROLLBACK");
}

MySqlGuard::Step MySqlGuard::unenforced(guard::GuardState& g, std::string_view what) {
    const auto& cfg = g.config();
    const std::string message = mysql_unenforced_message(what, table_of(g), cfg.name);
    if (cfg.action == config::GuardAction::log) {
        g.counters().forwarded_unready.fetch_add(1, std::memory_order_relaxed);
        spdlog::warn("guard {}: {} (action = \"log\": forwarded unchecked)", cfg.name, message);
        return {};
    }
    g.counters().refused.fetch_add(1, std::memory_order_relaxed);
    return signal(my::error_code::not_supported_yet, "42000", message);
}

MySqlGuard::Step MySqlGuard::on_prepare(std::string_view text, const MySqlSessionSettings& settings,
                                        const MySqlGuardSession& session) {
    if (!registry_->may_mention(text)) {
        prepared_.on_prepare_unfollowed();
        return {};
    }
    // A refused prepare is not sent; one forwarded anyway (action "log") is not followed, but
    // keeps its place in the order of the server's answers.
    const auto refuse = [&](Step step) {
        if (step.kind == Step::Kind::forward) prepared_.on_prepare_unfollowed();
        return step;
    };
    if (!settings.text_readable())
        if (const auto guards = guards_named_in(text); !guards.empty())
            return refuse(unenforced(*guards.front(),
                                     "a prepared statement from a client whose character set the "
                                     "proxy cannot read (big5, sjis, gbk, cp932, gb18030, or not "
                                     "known)"));
    auto parsed = std::make_shared<sql::ParseResult>(sql::parse_mysql(text, settings.dialect()));
    if (!*parsed) {
        // As for a COM_QUERY: the server refuses it too when the proxy reads the text as the
        // server does; when it may not, a text naming a guarded table is refused.
        const bool same_reading = settings.text_readable() && settings.sql_mode_known();
        const auto guards =
            same_reading ? std::vector<guard::GuardState*>{} : guards_named_in(text);
        if (guards.empty()) return refuse(Step{});
        return refuse(unenforced(*guards.front(), "a prepared statement the proxy cannot read"));
    }
    for (const auto& st : parsed->statements) {
        std::vector<guard::GuardState*> guards;
        const auto* insert = st.get<sql::InsertStatement>();
        const auto* update = st.get<sql::UpdateStatement>();
        if (insert)
            guards = guards_of_table(insert->table, session.database);
        else if (update)
            // One that sets no key column leaves every key as it is: not followed.
            guards = guards_set_by(*update, st.range.text(text), session.database);
        else if (const auto* other = st.get<sql::OtherStatement>();
                 other && (other->node == "insert_stmt" || other->node == "replace_stmt" ||
                           other->node == "update_stmt" || other->node == "load_stmt"))
            guards = guards_named_in(st.range.text(text));
        if (guards.empty()) continue;
        if ((!insert && !update) || parsed->statements.size() > 1)
            return refuse(
                unenforced(*guards.front(), "a prepared statement (COM_STMT_PREPARE) that writes"));
        if (auto why = insert ? prepared_insert_refusal(st, text, guards, settings, session)
                              : prepared_update_refusal(st, text, settings, session))
            return refuse(unenforced(*guards.front(), *why));
        if (!prepared_.has_room(text.size()))
            return refuse(unenforced(*guards.front(),
                                     insert ? "a prepared INSERT past the statements the proxy "
                                              "keeps per session"
                                            : "a prepared UPDATE past the statements the proxy "
                                              "keeps per session"));
        // Followed: its executes are keyed from their parameters.
        prepared_.on_prepare(std::string(text), std::move(parsed), session.database,
                             settings.dialect(), settings.version());
        return {};
    }
    prepared_.on_prepare_unfollowed();
    return {};
}

std::optional<std::string> MySqlGuard::prepared_insert_refusal(
    const sql::Statement& st, std::string_view text, const std::vector<guard::GuardState*>& guards,
    const MySqlSessionSettings& settings, const MySqlGuardSession& session) {
    const auto& insert = *st.get<sql::InsertStatement>();
    if (insert.select_source)
        return insert.replace ? "a prepared REPLACE … SELECT" : "a prepared INSERT … SELECT";
    // REPLACE and ON DUPLICATE KEY UPDATE are decided at each execute as their text with the
    // execute's values (on_prepared_upsert), as the same text in a COM_QUERY is.
    if (insert.on_conflict.action != sql::OnConflict::Action::none &&
        upsert_sets_key_column(insert, guards))
        return "a prepared INSERT … ON DUPLICATE KEY UPDATE that sets a key column";
    // Its executes may be answered by a COM_QUERY, whose rows are not the binary ones an
    // execute's client reads.
    if ((insert.replace || insert.on_conflict.action != sql::OnConflict::Action::none) &&
        insert.returning)
        return insert.replace ? "a prepared REPLACE … RETURNING"
                              : "a prepared INSERT … ON DUPLICATE KEY UPDATE … RETURNING";
    if (st.explain_analyze) return "a prepared ANALYZE INSERT";
    if (lower(st.trimmed.text(text).substr(0, 3)) == "set")
        return "a prepared SET STATEMENT … FOR INSERT";
    // Its literals are read now, under the session's sql_mode.
    const bool sql_mode_known =
        follows_sql_mode(settings.sql_mode_known(), settings.dialect().no_backslash_escapes,
                         session.server_status, session.status_seen);
    if (!sql_mode_known) return "a prepared INSERT under an sql_mode the proxy did not follow";
    for (auto* g : guards) {
        // A guard not loaded yet has no table description: its executes are decided then.
        if (g->state() != guard::GuardLoadState::ready) continue;
        const auto& table = *g->mysql_table();
        std::string why;
        const auto keys = guard::mysql_insert_row_keys(insert, text, table.columns, table.keys,
                                                       settings.client_charset(), why);
        if (!keys) return "a prepared INSERT (" + why + ")";
        const auto& columns = insert.columns.empty() ? table.columns : insert.columns;
        for (std::size_t row = 0; row < keys->size(); ++row)
            for (std::size_t k = 0; k < table.keys.size(); ++k) {
                const auto& part = (*keys)[row][k];
                if (part.ok() || part.status == guard::NormalizeStatus::null) continue;
                // A `?`: keyed at each execute from its value.
                std::size_t c = 0;
                while (c < columns.size() && !same_name(columns[c], table.keys.column(k).name)) ++c;
                if (c < insert.rows[row].size() &&
                    insert.rows[row][c].kind == sql::ValueKind::parameter)
                    continue;
                return "a prepared INSERT with a value of key column `" +
                       table.keys.column(k).name +
                       "` the proxy cannot read (an expression, DEFAULT, a character set "
                       "introducer, a value the server may convert)";
            }
    }
    return std::nullopt;
}

std::optional<std::string> MySqlGuard::prepared_update_refusal(
    const sql::Statement& st, std::string_view text, const MySqlSessionSettings& settings,
    const MySqlGuardSession& session) const {
    const auto& update = *st.get<sql::UpdateStatement>();
    if (st.explain_analyze) return "a prepared ANALYZE UPDATE";
    if (lower(st.trimmed.text(text).substr(0, 3)) == "set")
        return "a prepared SET STATEMENT … FOR UPDATE";
    if (auto why = update_refusal(update, text, settings.dialect())) return "a prepared " + *why;
    // Its literals are read now, under the session's sql_mode.
    const bool sql_mode_known =
        follows_sql_mode(settings.sql_mode_known(), settings.dialect().no_backslash_escapes,
                         session.server_status, session.status_seen);
    if (!sql_mode_known) return "a prepared UPDATE under an sql_mode the proxy did not follow";
    // A key column set twice, or to a value the proxy cannot key (an expression, DEFAULT…), is
    // staged at each execute, its text with the execute's values written in
    // (on_prepared_update_staged), which refuses what it cannot stage.
    return std::nullopt;
}

void MySqlGuard::on_prepare_answer(util::Bytes head) {
    if (!head.empty() && head[0] == 0x00 && head.size() >= 9) {
        prepared_.on_prepare_answer(
            std::make_pair(my::read_u32_le(head.data() + 1),
                           static_cast<std::uint16_t>(head[7] | (head[8] << 8))));
    } else if (!head.empty() && head[0] == 0xFF) {
        if (head.size() >= 3 && head[1] == 0xFF && head[2] == 0xFF) return;  // MariaDB progress
        prepared_.on_prepare_answer(std::nullopt);
    }
}

MySqlGuard::Step MySqlGuard::on_execute(std::string_view payload,
                                        const MySqlSessionSettings& settings,
                                        const MySqlGuardSession& session) {
    if (payload.size() < 5) return {};  // the server refuses it
    std::uint32_t id = my::read_u32_le(reinterpret_cast<const std::uint8_t*>(payload.data()) + 1);
    const bool minus_one = id == 0xFFFFFFFFu;
    if (minus_one) {
        // MariaDB: the statement of the last prepare, once the server has answered it.
        bool unanswered = false;
        const auto last = prepared_.last_prepared(unanswered);
        if (unanswered) return Step{Step::Kind::defer};
        if (!last) {
            if (prepared_.last_prepare_failed() && prepared_.size() > 0)
                // The proxy cannot tell which statement the server takes for -1 after a failed
                // prepare; one it follows may be it.
                return unenforced(*registry_->guards().front(),
                                  "an execute of statement id -1 after a failed prepare");
            return {};
        }
        id = *last;
    }
    auto* statement = prepared_.find_mutable(id);
    if (!statement) {
        // An id the proxy does not know yet may be the one the server gives a followed prepare
        // sent just before it (ids count up per connection): decided once that is answered.
        if (prepared_.followed_unanswered()) return Step{Step::Kind::defer};
        return {};  // not a statement that writes to a guarded table
    }
    const auto& st = statement->parsed->statements.front();
    const auto* insert = st.get<sql::InsertStatement>();
    const auto* update = st.get<sql::UpdateStatement>();
    const auto guards =
        insert ? guards_of_table(insert->table, statement->database)
               : guards_set_by(*update, st.range.text(statement->text), statement->database);
    if (guards.empty()) return {};
    if (unnamed_long_data_)
        return unenforced(*guards.front(),
                          "an execute after COM_STMT_SEND_LONG_DATA to statement id -1 that "
                          "followed a failed prepare");
    execute_payload_.assign(payload);
    // Decoded under the statement's own id (MariaDB's -1 resolved).
    for (std::size_t i = 0; i < 4; ++i)
        execute_payload_[1 + i] = static_cast<char>((id >> (8 * i)) & 0xFF);
    std::string error;
    const PreparedStatement* s = nullptr;
    // Given again after a wait: decoded then already (its long data is spent now).
    if (!execute_waited_ || !execute_)
        execute_ = prepared_.on_execute(util::as_bytes(execute_payload_), &s, error,
                                        &execute_long_values_);
    execute_waited_ = false;
    if (!execute_) {
        return unenforced(*guards.front(),
                          "a COM_STMT_EXECUTE the proxy cannot read (" + error + ")");
    }
    const bool binds = execute_->new_params_bound;
    if (minus_one && !binds && !execute_->params.empty())
        // MariaDB 10.11 answers it "Malformed communication packet"; a server that ran it
        // would use types the proxy may not know.
        return finish_execute(
            unenforced(*guards.front(), "an execute of statement id -1 that binds no types"), id,
            binds);
    // A wait gives the same execute again (decoded already); a check's answer finishes the
    // execute (on_check_reply); anything else is finished now.
    const auto decided_execute = [&](Step step, auto& pending) {
        if (step.kind == Step::Kind::wait) {
            execute_waited_ = true;
            return step;
        }
        if (step.kind == Step::Kind::check) {
            pending->execute = true;
            pending->statement_id = id;
            pending->binds_types = binds;
            return step;
        }
        return finish_execute(std::move(step), id, binds);
    };
    if (update)
        // Its new key and WHERE values from the parameters (a value sent as long data past
        // what the proxy keeps cannot be keyed or written: refused there).
        return decided_execute(on_update(*update, statement->text, guards, settings, session,
                                         statement, &execute_->params),
                               pending_update_);
    // A key value sent by COM_STMT_SEND_LONG_DATA is read when the proxy kept it (within
    // MySqlPreparedStatements' bounds: a key is far shorter), refused past them.
    for (auto* g : guards) {
        if (g->state() != guard::GuardLoadState::ready) continue;
        const auto& table = *g->mysql_table();
        const auto& columns = insert->columns.empty() ? table.columns : insert->columns;
        for (const auto& row : insert->rows)
            for (std::size_t k = 0; k < table.keys.size(); ++k)
                for (std::size_t c = 0; c < columns.size() && c < row.size(); ++c)
                    if (same_name(columns[c], table.keys.column(k).name) &&
                        row[c].kind == sql::ValueKind::parameter && row[c].parameter >= 1 &&
                        static_cast<std::size_t>(row[c].parameter) <= execute_->params.size() &&
                        execute_->params[static_cast<std::size_t>(row[c].parameter) - 1]
                            .long_data &&
                        !execute_->params[static_cast<std::size_t>(row[c].parameter) - 1]
                             .long_data_kept)
                        return finish_execute(
                            unenforced(*g,
                                       "a prepared INSERT's key value sent by "
                                       "COM_STMT_SEND_LONG_DATA past the 64 KiB the proxy keeps"),
                            id, binds);
    }
    if (insert->replace ||
        insert->on_conflict.action == sql::OnConflict::Action::on_duplicate_key_update)
        return decided_execute(on_prepared_upsert(*statement, guards, settings, session), pending_);
    return decided_execute(
        on_insert(*insert, statement->text, guards, settings, session, &execute_->params),
        pending_);
}

std::variant<std::string, MySqlGuard::Step> MySqlGuard::execute_as_text(
    const PreparedStatement& statement, std::string_view form, guard::GuardState& first,
    const MySqlSessionSettings& settings, const MySqlGuardSession& session,
    bool parenthesize_negatives) {
    // The text is read as the server reads a COM_QUERY now: it must read it as it read the
    // prepare (the same sql_mode, character set, collation and current database).
    if (settings.version() != statement.settings_version || !settings.text_readable() ||
        session.database != statement.database)
        return unenforced(first, "an execute of " + std::string(form) +
                                     " after a change of sql_mode, character set, collation or "
                                     "current database since its prepare (prepare it again)");
    std::vector<sql::MySqlToken> tokens;
    std::optional<std::string> text;
    if (execute_ && !sql::lex_mysql(statement.text, statement.dialect, tokens))
        text = guard::mysql_text_with_params(
            statement.text, tokens, 0, statement.text.size(), execute_->params,
            settings.dialect().no_backslash_escapes, parenthesize_negatives);
    if (!text)
        return unenforced(first, "an execute of " + std::string(form) +
                                     " with a value the proxy cannot write into its text (TIME, "
                                     "BIT, JSON, a zero or impossible date, long data past what "
                                     "the proxy keeps)");
    // Sent as COM_QUERY text (the statement itself, or the proxy's commands built from it), it
    // must fit the server's max_allowed_packet, which a statement past it makes the server
    // close the connection for (4 MiB: MySQL 5.7's default; values written as text take up to
    // twice their bytes).
    constexpr std::size_t max_text = 4u << 20;
    if (text->size() > max_text)
        return unenforced(first, "an execute of " + std::string(form) +
                                     " whose text with its values is larger than 4 MiB");
    return std::move(*text);
}

MySqlGuard::Step MySqlGuard::on_prepared_upsert(const PreparedStatement& statement,
                                                const std::vector<guard::GuardState*>& guards,
                                                const MySqlSessionSettings& settings,
                                                const MySqlGuardSession& session) {
    auto& first = *guards.front();
    constexpr std::string_view form = "a prepared REPLACE or INSERT … ON DUPLICATE KEY UPDATE";
    // (Negative values unparenthesised: the INSERT key reader reads `(-5)` as an expression.)
    auto text = execute_as_text(statement, form, first, settings, session, false);
    if (auto* refused = std::get_if<Step>(&text)) return *refused;
    const auto& sql = std::get<std::string>(text);
    // Decided as that text sent as a COM_QUERY: forwarded, the client's execute goes; any
    // statement of the proxy's (the row's id added, a SIGNAL) goes as a COM_QUERY in its place,
    // whose OK the server writes as for the execute.
    const auto parsed = sql::parse_mysql(sql, settings.dialect());
    const auto* insert = parsed.statements.size() == 1
                             ? parsed.statements.front().get<sql::InsertStatement>()
                             : nullptr;
    if (!insert)
        return unenforced(first, "an execute of " + std::string(form) +
                                     " whose text with its values the proxy cannot read");
    return on_insert(*insert, sql, guards, settings, session, nullptr);
}

MySqlGuard::Step MySqlGuard::finish_execute(Step step, std::uint32_t id, bool binds_types) {
    auto* statement = prepared_.find_mutable(id);
    if (!statement) return step;
    if (step.kind == Step::Kind::replace) {
        // The server does not see this execute: the types it binds are not bound there, and the
        // long data sent for it would stay for the next execute unless reset now (the server
        // spends it at every execute, whatever its outcome).
        if (binds_types) statement->server_lacks_types = true;
        if (execute_ && std::any_of(execute_->params.begin(), execute_->params.end(),
                                    [](const my::ExecuteParam& p) { return p.long_data; })) {
            std::string reset(1, static_cast<char>(my::Command::stmt_reset));
            for (int i = 0; i < 4; ++i) reset += static_cast<char>((id >> (8 * i)) & 0xFF);
            step.before.push_back(std::move(reset));
        }
        return step;
    }
    if (binds_types) {
        statement->server_lacks_types = false;
        return step;
    }
    if (statement->server_lacks_types && execute_) {
        statement->server_lacks_types = false;
        return {Step::Kind::rewrite, mysql_execute_with_types(util::as_bytes(execute_payload_),
                                                              *execute_, statement->bound_types)};
    }
    return step;
}

MySqlGuard::Step MySqlGuard::on_query(std::string_view text, MySqlSessionSettings& settings,
                                      const MySqlGuardSession& session) {
    const bool may_mention = registry_->may_mention(text);
    // SET statements change how later literals read, whatever table they name.
    if (!may_mention && !util::contains_ignoring_case(text, "set")) return {};
    if (may_mention && !settings.text_readable()) {
        // The lexer may not split this text as the server does (a multibyte character ending in
        // a backslash byte): whatever it seems to say, a string naming a guarded table is
        // refused. SET statements still apply (SET NAMES back to a readable set).
        if (const auto guards = guards_named_in(text); !guards.empty())
            return unenforced(*guards.front(),
                              "a statement from a client whose character set the proxy cannot "
                              "read (big5, sjis, gbk, cp932, gb18030, or not known)");
    }
    // The common path: an INSERT of a shape seen before, its keys read from the tokens. Only
    // where on_insert would key it (a readable text under an sql_mode the proxy follows), and
    // only for a text that starts with INSERT and is of an application's size: a shape key is
    // as long as its text, and a restore's big INSERTs rarely share one.
    const bool shape_path =
        may_mention && text.size() <= kMaxShapeTextBytes && settings.text_readable() &&
        follows_sql_mode(settings.sql_mode_known(), settings.dialect().no_backslash_escapes,
                         session.server_status, session.status_seen) &&
        starts_with_insert(text);
    thread_local sql::MySqlShape shape;  // re-used; nothing suspends while it is in use
    const std::optional<MySqlInsertShapePlan>* known = nullptr;
    if (shape_path) {
        // What else decides how the text reads: the character set of its literals, and the
        // database its table names are in.
        thread_local std::string context;
        context.assign(1, static_cast<char>(settings.client_charset()));
        context += session.database;
        sql::mysql_shape(text, settings.dialect(), context, shape);
        if (shape.ok) {
            known = MySqlInsertShapeCache::of_this_thread().find(*registry_, shape.key);
            if (known && *known && passes_by_shape(**known, text, shape.tokens, settings))
                return {};
        }
    }
    const bool lexed = shape_path && shape.ok;
    const auto parsed = lexed ? sql::parse_mysql(text, settings.dialect(), shape.tokens)
                              : sql::parse_mysql(text, settings.dialect());
    if (lexed && !known) {
        std::optional<MySqlInsertShapePlan> plan;
        if (shape_plan_for(parsed, text, shape.tokens, session, plan))
            MySqlInsertShapeCache::of_this_thread().store(*registry_, shape.key, std::move(plan));
    }
    if (!parsed) {
        // The server refuses it too (1064) when the proxy reads the text as the server does;
        // when it may not (a character set whose multibyte characters can hold a quote byte,
        // an sql_mode it lost track of), a text naming a guarded table is refused instead.
        // MariaDB runs a string of several statements one at a time, so an error further on
        // lets the statements before it run: only a string without `;` is surely refused whole.
        const bool same_reading = settings.text_readable() && settings.sql_mode_known();
        if (!may_mention || (same_reading && text.find(';') == std::string_view::npos)) return {};
        const auto guards = guards_named_in(text);
        return guards.empty() ? Step{}
                              : unenforced(*guards.front(), "a statement the proxy cannot read");
    }
    Step step = may_mention ? on_statements(parsed, text, settings, session) : Step{};
    // Only a string the server runs changes the settings (applied as it is sent: a SET the
    // server then refuses is taken as applied, which makes the proxy key fewer strings).
    if (step.kind != Step::Kind::forward) return step;
    for (const auto& st : parsed.statements) {
        if (const auto* set = st.get<sql::SetStatement>()) {
            settings.apply(*set);
        } else if (const auto* other = st.get<sql::OtherStatement>();
                   other && other->node == "set_stmt") {
            settings.apply_other_set(st.range.text(text));
        }
    }
    return step;
}

bool MySqlGuard::shape_plan_for(const sql::ParseResult& parsed, std::string_view text,
                                const std::vector<sql::MySqlToken>& tokens,
                                const MySqlGuardSession& session,
                                std::optional<MySqlInsertShapePlan>& plan) const {
    plan.reset();
    const auto* insert = parsed && parsed.statements.size() == 1
                             ? parsed.statements.front().get<sql::InsertStatement>()
                             : nullptr;
    if (!insert) return true;  // never a plan
    const auto guards = guards_of_table(insert->table, session.database);
    // Not while a guard loads: the shape may qualify once it is ready.
    for (const auto* g : guards)
        if (g->state() != guard::GuardLoadState::ready) return false;
    plan = make_mysql_insert_shape_plan(parsed, text, tokens, guards);
    return true;
}

MySqlGuard::Step MySqlGuard::on_statements(const sql::ParseResult& parsed, std::string_view text,
                                           const MySqlSessionSettings& settings,
                                           const MySqlGuardSession& session) {
    // The statements that write to a guarded table, with their guards.
    struct Write {
        const sql::Statement* statement;
        std::vector<guard::GuardState*> guards;
        std::string_view what;  // a form not enforced; empty for a plain INSERT, an UPDATE
    };
    std::vector<Write> writes;
    for (const auto& st : parsed.statements) {
        if (const auto* insert = st.get<sql::InsertStatement>()) {
            auto guards = guards_of_table(insert->table, session.database);
            if (guards.empty()) continue;
            std::string_view what;
            // INSERT … SELECT is staged when alone in its string (on_insert_select, which
            // refuses the forms it does not stage).
            if (insert->select_source && parsed.statements.size() > 1)
                what = "INSERT … SELECT in a string of several statements";
            else if (!insert->select_source &&
                     insert->on_conflict.action != sql::OnConflict::Action::none &&
                     upsert_sets_key_column(*insert, guards))
                what = "INSERT … ON DUPLICATE KEY UPDATE that sets a key column";
            else if (st.explain_analyze)
                what = "ANALYZE INSERT";
            else if (lower(st.trimmed.text(text).substr(0, 3)) == "set")
                what = "SET STATEMENT … FOR INSERT";  // its settings may read literals otherwise
            writes.push_back({&st, std::move(guards), what});
        } else if (const auto* update = st.get<sql::UpdateStatement>()) {
            auto guards = guards_set_by(*update, st.range.text(text), session.database);
            std::string_view what;
            if (lower(st.trimmed.text(text).substr(0, 3)) == "set")
                what = "SET STATEMENT … FOR UPDATE";  // the check would run without its settings
            if (!guards.empty()) writes.push_back({&st, std::move(guards), what});
        } else if (const auto* other = st.get<sql::OtherStatement>()) {
            std::string_view what;
            const bool a_write = other->node == "insert_stmt" || other->node == "replace_stmt" ||
                                 other->node == "update_stmt";
            if (a_write && !other->unsupported.empty())
                what = "a statement the proxy cannot read";
            else if (other->node == "load_stmt")
                what = "LOAD DATA";
            else if (compound_piece(st, text))
                what =
                    "a compound statement (BEGIN NOT ATOMIC, IF, CASE, LOOP, WHILE, REPEAT, "
                    "FOR)";
            else if (other->node == "prepare_stmt")
                what = "PREPARE";
            else
                continue;  // reads, DDL, CALL (out of the proxy's sight: docs/mysql.md)
            auto guards = guards_named_in(st.range.text(text));
            if (!guards.empty()) writes.push_back({&st, std::move(guards), what});
        }
    }
    if (writes.empty()) return {};
    if (writes.size() > 1)
        return unenforced(*writes.front().guards.front(),
                          "a write in a string of several statements (more than one statement "
                          "writes to or names a guarded table)");
    const auto& w = writes.front();
    if (!w.what.empty()) return unenforced(*w.guards.front(), w.what);
    if (parsed.statements.size() > 1) {
        if (auto why = several_statements_refusal(parsed, text, *w.statement, session))
            return unenforced(*w.guards.front(),
                              "a write in a string of several statements (" + *why + ")");
        statement_in_string_ = w.statement->trimmed;
        auto step =
            on_insert(*w.statement->get<sql::InsertStatement>(), text, w.guards, settings, session);
        statement_in_string_ = {};
        return in_place(std::move(step), text, w.statement->trimmed);
    }
    if (const auto* update = w.statement->get<sql::UpdateStatement>())
        return on_update(*update, text, w.guards, settings, session);
    if (const auto* insert = w.statement->get<sql::InsertStatement>(); insert->select_source)
        return on_insert_select(*insert, *w.statement, text, w.guards, session);
    return on_insert(*w.statement->get<sql::InsertStatement>(), text, w.guards, settings, session);
}

std::optional<std::string> MySqlGuard::several_statements_refusal(
    const sql::ParseResult& parsed, std::string_view text, const sql::Statement& write,
    const MySqlGuardSession& session) const {
    // The proxy decides the write before any of the string runs (its check runs in the session
    // as it is now). That is exact when nothing before the write changes what it finds or how
    // its text reads: the table's rows (another statement naming a guarded table), the
    // session's settings or database (SET, USE), the transaction's own earlier writes
    // (ROLLBACK), the snapshot (a COMMIT or BEGIN ending an open transaction, whose old snapshot
    // the check would read under REPEATABLE READ); and when the write runs once (no loop or
    // compound statement around it) and its SIGNAL can take its place alone.
    const auto* insert = write.get<sql::InsertStatement>();
    if (!insert) return "an UPDATE of key columns";
    if (insert->replace || insert->on_conflict.action != sql::OnConflict::Action::none)
        return "REPLACE or ON DUPLICATE KEY UPDATE";
    if (util::contains_ignoring_case(text, "/*!") || util::contains_ignoring_case(text, "/*M!"))
        return "an executable comment in the string";
    const bool in_transaction = (session.server_status & my::server_status::in_transaction) != 0;
    bool before = true;
    for (const auto& st : parsed.statements) {
        if (&st == &write) {
            before = false;
            continue;
        }
        if (!guards_named_in(st.range.text(text)).empty())
            return "another statement names a guarded table";
        if (compound_piece(st, text)) return "a compound statement or loop";
        const auto* other = st.get<sql::OtherStatement>();
        if (st.get<sql::SetStatement>() || lower(st.trimmed.text(text).substr(0, 3)) == "set" ||
            (other && (other->node == "set_stmt" || other->node == "use_stmt")))
            return "SET or USE changes how the write reads";
        if (other && other->node == "xa_stmt") return "an XA statement";
        if (!before) continue;
        // Before the write: only statements known to leave its verdict as it is.
        if (const auto* tx = st.get<sql::TransactionStatement>()) {
            using K = sql::TransactionStatement::Kind;
            if (tx->kind == K::rollback || tx->kind == K::rollback_to)
                return "a ROLLBACK before it";
            if ((tx->kind == K::begin || tx->kind == K::start || tx->kind == K::commit) &&
                in_transaction)
                return "a COMMIT or BEGIN before it ends the open transaction";
            continue;
        }
        if (st.get<sql::InsertStatement>() || st.get<sql::UpdateStatement>() ||
            st.get<sql::DeleteStatement>())
            continue;  // another table's rows
        if (other && (other->node == "select_stmt" || other->node == "do_stmt")) continue;
        return "a statement before it that the proxy does not follow";
    }
    return std::nullopt;
}

MySqlGuard::Step MySqlGuard::on_insert(const sql::InsertStatement& insert, std::string_view text,
                                       const std::vector<guard::GuardState*>& guards,
                                       const MySqlSessionSettings& settings,
                                       const MySqlGuardSession& session,
                                       const std::vector<my::ExecuteParam>* params) {
    if (auto refused = unready_step(guards, text)) return *refused;

    // How the literals read: the proxy must know the session's quoting rules. The server's
    // NO_BACKSLASH_ESCAPES status flag confirms what the proxy followed.
    const bool sql_mode_known =
        follows_sql_mode(settings.sql_mode_known(), settings.dialect().no_backslash_escapes,
                         session.server_status, session.status_seen);

    auto p = std::make_unique<Pending>();
    p->rows = insert.rows.size();
    note_rows(*p, insert, params != nullptr);
    for (auto* g : guards) {
        if (g->state() != guard::GuardLoadState::ready) continue;  // forwarded unchecked above
        // A prepared INSERT's literals were read at its prepare, under the sql_mode then.
        if (!sql_mode_known && !params)
            return unenforced(*g, "an INSERT under an sql_mode the proxy did not follow");
        const auto& table = *g->mysql_table();
        std::string why;
        const auto keys = guard::mysql_insert_row_keys(
            insert, text, table.columns, table.keys, settings.client_charset(), why,
            params ? std::span<const my::ExecuteParam>(*params)
                   : std::span<const my::ExecuteParam>(),
            settings.dialect().empty_string_is_null);
        if (!keys) return unenforced(*g, "an INSERT (" + why + ")");

        GuardRows r;
        r.guard = g;
        // Where each key column's value is in a row, for the string literals' text.
        const auto& columns = insert.columns.empty() ? table.columns : insert.columns;
        std::vector<std::size_t> position(table.keys.size(), std::string::npos);
        for (std::size_t k = 0; k < table.keys.size(); ++k)
            for (std::size_t c = 0; c < columns.size(); ++c)
                if (same_name(columns[c], table.keys.column(k).name)) position[k] = c;
        for (std::size_t row = 0; row < keys->size(); ++row) {
            const auto& parts = (*keys)[row];
            std::string encoded;
            guard::MySqlKeyText key_text;
            bool has_null = false;
            for (std::size_t k = 0; k < parts.size(); ++k) {
                if (parts[k].status == guard::NormalizeStatus::null) {
                    has_null = true;
                    guard::append_key_null(encoded);
                    key_text.emplace_back(std::nullopt);
                    continue;
                }
                if (!parts[k].ok())
                    return unenforced(
                        *g, std::string(params ? "an execute of a prepared INSERT" : "an INSERT") +
                                " with a value of key column `" + table.keys.column(k).name +
                                "` the proxy cannot read (an expression, DEFAULT, "
                                "a character set introducer, a value the server "
                                "may convert)");
                guard::append_key_part(encoded, parts[k]);
                std::string_view literal;
                if (position[k] < insert.rows[row].size()) {
                    const auto& v = insert.rows[row][position[k]];
                    if (params && v.kind == sql::ValueKind::parameter && v.parameter >= 1 &&
                        static_cast<std::size_t>(v.parameter) <= params->size())
                        literal = util::as_chars(
                            (*params)[static_cast<std::size_t>(v.parameter) - 1].value);
                    else if (const auto l =
                                 guard::mysql_literal_of(v, text, settings.client_charset()))
                        literal = l->text;
                }
                key_text.push_back(
                    guard::mysql_key_part_text(table.keys.column(k).type, parts[k], literal));
            }
            r.fingerprints.push_back(guard::fingerprint_encoded_key(encoded, g->seed()));
            r.encoded.push_back(std::move(encoded));
            r.texts.push_back(std::move(key_text));
            r.has_null.push_back(has_null);
        }
        // The same key twice in the statement.
        r.same_as_earlier.assign(r.encoded.size(), std::string::npos);
        for (std::size_t row = 0; row < r.encoded.size(); ++row) {
            if (r.has_null[row]) continue;
            for (std::size_t e = 0; e < row; ++e)
                if (!r.has_null[e] && r.encoded[e] == r.encoded[row]) {
                    r.same_as_earlier[row] = e;
                    break;
                }
        }
        p->guards.push_back(std::move(r));
    }
    p->statement.assign(text);
    p->in_string = statement_in_string_;
    p->session = session;
    // Claimed before the key set is read: a session that wrote a key and let go of it (its
    // transaction over) put it in the key set first, so the key set read after the claim has it.
    // Read before, it could miss a key another session wrote and committed in between.
    if (auto wait = claim_keys(*p)) return *wait;
    // Which keys the server must be asked about (in the key set: maybe on the server; a row
    // equal to an earlier one needs no question).
    for (auto& r : p->guards) {
        r.probe.assign(r.encoded.size(), std::string::npos);
        for (std::size_t row = 0; row < r.encoded.size(); ++row)
            if (!r.has_null[row] && r.same_as_earlier[row] == std::string::npos &&
                r.guard->keys().contains(r.fingerprints[row]))
                r.probe[row] = p->probes++;
    }
    if (p->probes == 0) return verdict(*p, nullptr);

    std::vector<guard::MySqlKeyProbe> probes(p->probes);
    for (const auto& r : p->guards) {
        const auto& table = *r.guard->mysql_table();
        for (std::size_t row = 0; row < r.probe.size(); ++row)
            if (r.probe[row] != std::string::npos)
                probes[r.probe[row]] = {table.schema, table.name, &table.keys, &r.texts[row]};
    }
    for (auto& r : p->guards) r.guard->counters().checked.fetch_add(1, std::memory_order_relaxed);
    // An ON DUPLICATE KEY UPDATE or a REPLACE: the rows whose keys exist are named by their
    // primary keys (upsert_step), so the check also asks for those and for how many rows have
    // each key.
    if (!params && !p->upsert.empty() && p->guards.size() == 1 && !insert.ignore) {
        const auto& pk = p->guards.front().guard->mysql_table()->integer_primary_key;
        const bool client_names_pk = std::any_of(insert.columns.begin(), insert.columns.end(),
                                                 [&](const auto& c) { return same_name(c, pk); });
        if (!pk.empty() && !client_names_pk) p->primary_key = pk;
    }
    // A key another session committed since this session's transaction may have taken its
    // snapshot: under REPEATABLE READ the plain check does not see that row, where the unique
    // key's own check does (it reads the latest committed version). The check then asks the
    // isolation too, and such a key it does not find is a duplicate (on_check_reply).
    p->committed_since.assign(p->probes, false);
    // (Outside a transaction the check is the statement's own snapshot: it sees every commit.)
    const bool in_transaction = (session.server_status & my::server_status::in_transaction) != 0;
    for (const auto& r : p->guards)
        for (std::size_t row = 0; row < r.probe.size(); ++row)
            if (in_transaction && r.probe[row] != std::string::npos &&
                r.guard->claims().committed_after(r.fingerprints[row], transaction_start_))
                p->committed_since[r.probe[row]] = true;
    for (std::size_t first = 0; first < probes.size(); first += kMaxProbesPerCheck) {
        const std::size_t end = std::min(probes.size(), first + kMaxProbesPerCheck);
        const bool marked =
            p->primary_key.empty() &&
            std::any_of(p->committed_since.begin() + static_cast<std::ptrdiff_t>(first),
                        p->committed_since.begin() + static_cast<std::ptrdiff_t>(end),
                        [](bool b) { return b; });
        p->marked.push_back(marked);
        const std::vector<guard::MySqlKeyProbe> chunk(
            probes.begin() + static_cast<std::ptrdiff_t>(first),
            probes.begin() +
                static_cast<std::ptrdiff_t>(std::min(probes.size(), first + kMaxProbesPerCheck)));
        p->checks.push_back(
            p->primary_key.empty()
                ? guard::mysql_exists_sql(
                      chunk, marked
                                 ? (session.mariadb ? "@@tx_isolation" : "@@transaction_isolation")
                                 : std::string_view())
                : guard::mysql_upsert_probes_sql(chunk, p->primary_key, upsert_probe_locks(*p)));
    }
    Step step{Step::Kind::check, p->checks.front()};
    pending_ = std::move(p);
    return step;
}

MySqlGuard::Step MySqlGuard::on_check_reply(const my::ValueReplyReader& reply) {
    Step step;
    if (pending_update_) {
        const bool execute = pending_update_->execute;
        const auto id = pending_update_->statement_id;
        const bool binds = pending_update_->binds_types;
        step = on_update_check_reply(reply);
        if (execute && step.kind == Step::Kind::wait) execute_waited_ = true;
        if (execute && step.kind == Step::Kind::check) {
            // Asked again: still that execute's.
            pending_update_->execute = true;
            pending_update_->statement_id = id;
            pending_update_->binds_types = binds;
        } else if (execute && step.kind != Step::Kind::wait) {
            step = finish_execute(std::move(step), id, binds);
        }
    } else if (auto p = std::move(pending_)) {
        step = on_insert_check_reply(*p, reply);
        if (step.kind == Step::Kind::check)
            pending_ = std::move(p);  // the next of its queries
        else
            step = in_place(std::move(step), p->statement, p->in_string);
    }
    if (step.kind != Step::Kind::wait && step.kind != Step::Kind::check) decided();
    return step;
}

MySqlGuard::Step MySqlGuard::on_insert_check_reply(Pending& pending,
                                                   const my::ValueReplyReader& reply) {
    Pending* const p = &pending;
    bool answered =
        reply.status() == my::ValueReplyReader::Status::done && !reply.failed() && reply.value();
    // This query's keys: kMaxProbesPerCheck, or the rest.
    const std::size_t asked =
        std::min(kMaxProbesPerCheck, p->probes - p->checks_answered * kMaxProbesPerCheck);
    if (answered && !p->primary_key.empty()) {
        auto answers = guard::parse_mysql_upsert_probes(*reply.value(), asked);
        answered = answers.has_value();
        if (answered) {
            if (!p->existing) p->existing.emplace();
            for (auto& e : *answers) {
                p->exists += e.rows > 0 ? '1' : '0';
                p->existing->push_back(std::move(e));
            }
        }
    } else if (answered) {
        const std::string& value = *reply.value();
        const bool marked = p->marked[p->checks_answered];
        answered = value.size() == asked + (marked ? 1 : 0);
        if (answered && marked) {
            // 'R': REPEATABLE READ in a transaction: a key committed since its start that the
            // snapshot does not show is the unique key's duplicate (docs/mysql.md).
            const std::size_t first = p->checks_answered * kMaxProbesPerCheck;
            for (std::size_t i = 0; i < asked; ++i)
                p->exists += value[0] == 'R' && p->committed_since[first + i] && value[1 + i] == '0'
                                 ? '1'
                                 : value[1 + i];
        } else if (answered) {
            p->exists += value;
        }
    }
    if (answered && ++p->checks_answered < p->checks.size())
        return Step{Step::Kind::check, p->checks[p->checks_answered]};
    const std::string& exists = p->exists;  // per probe, '1' when a row has that key
    if (!answered) {
        // The proxy cannot know whether the keys exist (SPEC §4: when confirming is impossible,
        // the write is refused); under log, forwarded.
        const std::string why = reply.failed() ? "ERROR " + std::to_string(reply.error_code()) +
                                                     ": " + reply.error_message()
                                               : std::string("an unexpected reply");
        // Forwarded only when every guard of the statement only logs: one that rejects or
        // ignores still needs the answer.
        const auto refusing = std::find_if(p->guards.begin(), p->guards.end(), [](const auto& r) {
            return r.guard->config().action != config::GuardAction::log;
        });
        auto& g = refusing == p->guards.end() ? *p->guards.front().guard : *refusing->guard;
        spdlog::warn("guard {}: the check of a suspected duplicate failed: {}", g.config().name,
                     why);
        if (refusing == p->guards.end()) {
            auto step = pass(*p);
            return p->execute ? finish_execute(std::move(step), p->statement_id, p->binds_types)
                              : step;
        }
        g.counters().refused.fetch_add(1, std::memory_order_relaxed);
        claims_.release_statement();  // not sent: writes none of its keys
        auto step = signal(my::error_code::not_supported_yet, "42000",
                           "uniqguard: guard \"" + g.config().name +
                               "\" could not check the statement's keys on the server (" + why +
                               "); the statement was refused");
        return p->execute ? finish_execute(std::move(step), p->statement_id, p->binds_types) : step;
    }
    auto step = verdict(*p, &exists);
    return p->execute ? finish_execute(std::move(step), p->statement_id, p->binds_types) : step;
}

MySqlGuard::Step MySqlGuard::pass(Pending& p) {
    for (auto& r : p.guards) {
        for (std::size_t row = 0; row < r.fingerprints.size(); ++row)
            if (!r.has_null[row] && !(row < p.dropped.size() && p.dropped[row]))
                r.guard->keys().insert(r.fingerprints[row]);
        r.guard->counters().passed.fetch_add(1, std::memory_order_relaxed);
    }
    return {};
}

void MySqlGuard::note_rows(Pending& p, const sql::InsertStatement& insert, bool execute) {
    p.execute = execute;
    p.row_ranges = insert.row_ranges;
    p.insert_ignore = insert.ignore;
    p.returning = insert.returning;
    if (insert.replace)
        p.upsert = upsert_replace;
    else if (insert.on_conflict.action == sql::OnConflict::Action::on_duplicate_key_update)
        p.upsert = upsert_odku;
}

MySqlGuard::Step MySqlGuard::verdict(Pending& p, const std::string* exists) {
    p.dropped.assign(p.rows, false);
    // Whether a row's key is on the server: the answer for the first row with that key (a row
    // equal to an earlier one was not asked about).
    auto on_server = [&](const GuardRows& r, std::size_t row) {
        const std::size_t first =
            r.same_as_earlier[row] == std::string::npos ? row : r.same_as_earlier[row];
        return exists && r.probe[first] != std::string::npos && (*exists)[r.probe[first]] == '1';
    };
    // A duplicate of a row on the server, or of an earlier row of the statement that is
    // inserted: a dropped row never reaches the table, so a later equal row is no duplicate of
    // it.
    auto duplicate = [&](const GuardRows& r, std::size_t row) {
        if (r.has_null[row]) return false;
        if (on_server(r, row)) return true;
        if (r.same_as_earlier[row] == std::string::npos) return false;
        for (std::size_t e = r.same_as_earlier[row]; e < row; ++e)
            if (!p.dropped[e] && !r.has_null[e] && r.encoded[e] == r.encoded[row]) return true;
        return false;
    };
    // The server inserts row by row and checks each unique key in turn: the first guard (in
    // config order) a row breaks decides. Under reject (and not INSERT IGNORE) the statement
    // fails there; under ignore, or INSERT IGNORE as a real unique key would have it, the row is
    // dropped; under log the row goes and is logged.
    struct Hit {
        GuardRows* rows;
        std::size_t row;
    };
    std::vector<Hit> logged, dropped;
    for (std::size_t row = 0; row < p.rows; ++row) {
        for (auto& r : p.guards) {
            if (!duplicate(r, row)) continue;
            auto& g = *r.guard;
            const auto& cfg = g.config();
            if (cfg.action == config::GuardAction::log) {
                logged.push_back({&r, row});
                continue;
            }
            if (!p.upsert.empty()) return upsert_step(p, r, row);
            if (cfg.action == config::GuardAction::reject && !p.insert_ignore) {
                g.counters().rejected.fetch_add(1, std::memory_order_relaxed);
                log_duplicate(p, r, row, guard::DuplicateAction::rejected);
                claims_.release_statement();  // the statement does not run: writes none of its keys
                return signal(my::error_code::dup_entry, "23000",
                              guard::mysql_duplicate_message(r.texts[row], cfg.name));
            }
            p.dropped[row] = true;
            dropped.push_back({&r, row});
            break;
        }
    }
    auto write_logged = [&] {
        for (const auto& h : logged) {
            h.rows->guard->counters().logged.fetch_add(1, std::memory_order_relaxed);
            log_duplicate(p, *h.rows, h.row, guard::DuplicateAction::logged);
        }
    };
    if (dropped.empty()) {
        write_logged();
        return pass(p);
    }
    return drop_rows(
        p, dropped.front().rows->guard,
        [&] {
            write_logged();
            for (const auto& h : dropped) {
                h.rows->guard->counters().ignored.fetch_add(1, std::memory_order_relaxed);
                log_duplicate(p, *h.rows, h.row, guard::DuplicateAction::ignored);
            }
        },
        guard::mysql_duplicate_message(dropped.front().rows->texts[dropped.front().row],
                                       dropped.front().rows->guard->config().name));
}

bool MySqlGuard::upsert_probe_locks(const Pending& p) {
    // The row is named by its id: a transaction changing that row's key (or id) while a REPLACE
    // is decided would have it delete a row that no longer holds the key. A locking read waits
    // for such a transaction and reads what it committed. Only for REPLACE (refused before it
    // was built: no one's concurrency is lost): on a table without an index on the key the
    // read locks, and waits for, every row it scans, where ON DUPLICATE KEY UPDATE's plain
    // read has been the documented race since it was built (docs/mysql.md).
    return p.upsert == upsert_replace;
}

MySqlGuard::Step MySqlGuard::upsert_step(Pending& p, const GuardRows& r, std::size_t row) {
    auto& g = *r.guard;
    // A row repeating an earlier row's key: a unique key would have the server update the row
    // the earlier one wrote, which no statement the proxy sends can name (its id is not known
    // before it is inserted).
    for (std::size_t i = 0; i < p.rows && p.existing; ++i)
        if (!r.has_null[i] && r.same_as_earlier[i] != std::string::npos) {
            row = i;
            break;
        }
    const bool repeated = r.same_as_earlier[row] != std::string::npos;
    const auto duplicate = guard::mysql_duplicate_message(r.texts[row], g.config().name);
    // Legacy duplicates: a unique key would have one row to update, the table has several.
    if (!repeated && p.existing)
        for (std::size_t i = 0; i < p.rows; ++i) {
            const std::size_t probe = r.probe[i];
            if (probe == std::string::npos || (*p.existing)[probe].rows < 2) continue;
            claims_.release_statement();  // the statement does not run: writes none of its keys
            g.counters().refused.fetch_add(1, std::memory_order_relaxed);
            return signal(my::error_code::not_supported_yet, "42000",
                          "uniqguard: " + std::string(p.upsert) + " on table \"" + table_of(g) +
                              "\" is refused by guard \"" + g.config().name +
                              "\": " + std::to_string((*p.existing)[probe].rows) +
                              " rows already have its key (" +
                              guard::mysql_duplicate_message(r.texts[i], g.config().name) +
                              "); a unique key would allow one");
        }
    // A real unique key would have the server update the one row with each existing key: the
    // client's statement names those rows by their primary key values (NULL for the rows whose
    // keys are new: the AUTO_INCREMENT counter's, as a left-out column would be; DEFAULT would
    // store 0 under NO_AUTO_VALUE_ON_ZERO), and the server's primary key conflicts update them,
    // reporting what a unique key's updates report. A REPLACE's conflicts delete them and insert
    // the new rows, as on a unique key, but under the old rows' ids where a unique key's REPLACE
    // takes new ones from the counter (docs/mysql.md). Not when the clause reads the primary key
    // (its VALUES() would be the existing row's id, not the server's), nor for a row whose id
    // is 0 (an explicit 0 asks the counter for a new id unless NO_AUTO_VALUE_ON_ZERO).
    if (!repeated && p.existing && p.row_ranges.size() == p.rows && p.row_ranges.back().known() &&
        p.row_ranges.back().end() <= p.statement.size() &&
        !guard::mysql_mentions_word(std::string_view(p.statement).substr(p.row_ranges.back().end()),
                                    p.primary_key)) {
        std::vector<std::string> ids(p.rows, "NULL");
        bool zero_id = false;
        for (std::size_t i = 0; i < p.rows; ++i)
            if (r.probe[i] != std::string::npos && (*p.existing)[r.probe[i]].rows == 1) {
                ids[i] = (*p.existing)[r.probe[i]].row_id;
                zero_id = zero_id || ids[i] == "0";
            }
        if (auto text = zero_id ? std::nullopt
                                : guard::mysql_upsert_naming_rows(p.statement, p.row_ranges,
                                                                  p.primary_key, ids)) {
            pass(p);
            return {Step::Kind::replace, std::move(*text)};
        }
    }
    claims_.release_statement();  // the statement does not run: writes none of its keys
    // Otherwise the server without the unique key would insert a second row, and no statement
    // the proxy sends in its place reports what the server reports then (REPLACE gives the new
    // row a new id; a row repeating an earlier one's key). Refused, whatever the action (ignore
    // included: the client asked for the delete or the update).
    return unenforced(
        g, std::string(p.upsert) + " of a key that " +
               (repeated ? "an earlier row of the statement writes" : "already exists") + " (" +
               duplicate + ")");
}

MySqlGuard::Step MySqlGuard::drop_rows(Pending& p, guard::GuardState* first_guard,
                                       const std::function<void()>& record,
                                       const std::string& first_duplicate) {
    const auto kept =
        static_cast<std::size_t>(std::count(p.dropped.begin(), p.dropped.end(), false));
    // A statement refused, or answered by the proxy, writes none of its keys.
    struct ReleaseUnlessSent {
        SessionClaims& claims;
        bool sent = false;
        ~ReleaseUnlessSent() {
            if (!sent) claims.release_statement();
        }
    } release{claims_};
    // Refused before anything is recorded: a refused statement drops nothing.
    if (kept == 0 && p.returning)
        // A real INSERT IGNORE … RETURNING answers an empty result set; no statement the proxy
        // can send in its place gives the same column definitions.
        return unenforced(*first_guard, "an INSERT … RETURNING whose every row is a duplicate");
    std::optional<std::string> without;
    if (kept > 0) {
        if (p.execute)
            // The rows of an execute are its parameters: the prepared statement cannot lose some.
            return unenforced(*first_guard,
                              "an execute of a prepared multi-row INSERT with some rows "
                              "duplicates and some not");
        without = guard::mysql_insert_without_rows(p.statement, p.row_ranges, p.dropped);
        if (!without) return unenforced(*first_guard, "an INSERT whose rows the proxy cannot cut");
    }
    record();
    if (kept == 0)
        return {Step::Kind::replace, guard::mysql_rows_dropped_sql(first_duplicate), {}, true};
    release.sent = true;  // the kept rows' keys are written
    // A dropped row's key is the table's already (or an earlier row's of the statement): not
    // this transaction's to hold, so another session's write of it meets the row at once, as
    // on a unique index (unless a kept row writes that key too, or it was held before).
    for (const auto& r : p.guards) {
        std::vector<std::uint64_t> kept_keys;
        for (std::size_t row = 0; row < r.fingerprints.size(); ++row)
            if (!p.dropped[row] && !r.has_null[row]) kept_keys.push_back(r.fingerprints[row]);
        std::sort(kept_keys.begin(), kept_keys.end());
        for (std::size_t row = 0; row < r.fingerprints.size(); ++row)
            if (p.dropped[row] && !r.has_null[row] &&
                !std::binary_search(kept_keys.begin(), kept_keys.end(), r.fingerprints[row]))
                claims_.release_statement_key(r.guard->claims(), r.fingerprints[row]);
    }
    pass(p);
    return {Step::Kind::replace, std::move(*without)};
}

void MySqlGuard::log_duplicate(const Pending& p, const GuardRows& rows, std::size_t row,
                               guard::DuplicateAction action) {
    if (log_ == nullptr) return;
    const auto& g = *rows.guard;
    guard::DuplicateRecord r;
    r.time = std::chrono::system_clock::now();
    r.guard = g.config().name;
    r.table = table_of(g);
    r.columns = g.config().columns;
    for (const auto& part : rows.texts[row]) r.values.push_back(part);
    r.action = action;
    r.client = p.session.client_address;
    r.user = p.session.user;
    r.database = p.session.database;
    r.in_transaction = (p.session.server_status & my::server_status::in_transaction) != 0;
    r.statement = p.statement;
    r.protocol = config::Protocol::mysql;
    r.no_backslash_escapes = (p.session.server_status & no_backslash_escapes_flag) != 0;
    log_->write(r);
}

}  // namespace uniqguard::proxy
