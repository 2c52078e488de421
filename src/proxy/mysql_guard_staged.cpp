// MySqlGuard: the statements whose rows the proxy stages in a temporary table of the client's
// session (guard/mysql_stage_sql.hpp), so that the server itself evaluates and converts their
// values; the stage's keys are then read and checked as an UPDATE's new keys are, and claimed.
//   An INSERT … SELECT (… WITH … SELECT) into a guarded table, alone in its COM_QUERY: its rows
//   are not in its text, and evaluating its SELECT apart from the INSERT could read other rows
//   (RAND(), a concurrent commit), so the client's statement runs, unchanged but for its
//   table's name, into the stage; the stage's rows are copied into the table in the client's
//   statement's place: its OK is the copy's.
//   An UPDATE setting a key column to a value the proxy cannot key (an expression such as
//   LOWER(email) or course_id + 1, DEFAULT, a literal it does not read): the rows its WHERE
//   matches are copied into the stage and its SET list applied there; the client's UPDATE goes
//   unchanged once the keys pass. A prepared one's execute is staged as its text with the
//   execute's values written in, and the client's execute goes.
// docs/mysql.md, "INSERT … SELECT" and "UPDATE of key columns".
#include <spdlog/spdlog.h>

#include <algorithm>
#include <variant>

#include "guard/mysql_repeatable_where.hpp"
#include "guard/mysql_stage_sql.hpp"
#include "protocol/mysql/command_tracker.hpp"
#include "protocol/mysql/error_codes.hpp"
#include "proxy/mysql_guard.hpp"
#include "proxy/mysql_guard_names.hpp"
#include "sql/mysql_parser.hpp"
#include "util/ascii_search.hpp"

namespace uniqguard::proxy {

namespace my = protocol::mysql;

using namespace mysql_names;

namespace {

bool has_name(const std::vector<std::string>& names, std::string_view name) {
    return std::any_of(names.begin(), names.end(),
                       [&](const std::string& n) { return same_name(n, name); });
}

// An executable comment may hold part of the statement (its table's name, the end of its
// SELECT): the proxy could not splice the text around it.
bool has_executable_comment(std::string_view text) {
    return text.find("/*!") != std::string_view::npos || util::contains_ignoring_case(text, "/*M!");
}

// Whether the check reads the table's rows of the new keys by a locking read (the latest
// committed rows, as InnoDB's unique check) rather than the session's snapshot: in a
// transaction (or not known to be outside one), whose snapshot may be older than another
// session's commit of a key or of its removal (MySqlGuard::locking_check_wanted: also after a
// wait for another session's claim, which may have committed).
bool in_transaction_or_unknown(std::uint16_t status) {
    return (status & my::server_status::in_transaction) != 0 ||
           (status & my::server_status::autocommit) == 0;
}

// The stage commands before this index make the stage (columns, drop, create); from it on they
// run the client's own text (its errors are the statement's).
constexpr std::size_t stage_statement_from = 3;

std::string staged_form(bool insert) { return insert ? "an INSERT … SELECT" : "an UPDATE"; }

// Errors of the proxy's own commands that make the stage which the client's statement would
// have met itself (no current database, no such table or database, a READ ONLY transaction):
// answered as the statement's own. Others (no CREATE TEMPORARY TABLES privilege, a
// partitioned table) refuse the statement with the reason.
bool statements_own_error(std::uint16_t code) {
    return code == 1046 || code == 1049 || code == 1146 || code == 1792;
}

}  // namespace

MySqlGuard::Step MySqlGuard::on_insert_select(const sql::InsertStatement& insert,
                                              const sql::Statement& statement,
                                              std::string_view text,
                                              const std::vector<guard::GuardState*>& guards,
                                              const MySqlGuardSession& session) {
    auto& first = *guards.front();
    if (insert.replace) return unenforced(first, "REPLACE … SELECT");
    if (insert.on_conflict.action != sql::OnConflict::Action::none)
        return unenforced(first, "INSERT … SELECT … ON DUPLICATE KEY UPDATE");
    if (insert.returning) return unenforced(first, "INSERT … SELECT … RETURNING");
    if (insert.partition) return unenforced(first, "INSERT … SELECT into a PARTITION list");
    if (insert.qualified_columns)
        return unenforced(first, "INSERT … SELECT with a column list naming table.column");
    if (has_executable_comment(text))
        return unenforced(first, "INSERT … SELECT with an executable comment (/*! … */)");
    const std::size_t from = insert.table_name.end();
    if (!insert.table_name.known() || !statement.trimmed.known() || from > statement.trimmed.end())
        return unenforced(first, "an INSERT … SELECT the proxy cannot read");

    // Not loaded yet: when_unready, for every guard of the table (as for an INSERT).
    if (auto refused = unready_step(guards, text)) return *refused;

    PendingUpdate p;
    bool all_log = true;
    std::vector<const guard::MySqlKeyColumns*> keys;
    for (auto* g : guards) {
        if (g->state() != guard::GuardLoadState::ready) continue;  // forwarded unchecked above
        const auto action = g->config().action;
        if (action != config::GuardAction::log) all_log = false;
        const auto& k = g->mysql_table()->keys;
        keys.push_back(&k);
        UpdateKey key;
        key.guard = g;
        // Every part of the key comes from the stage's rows (read as an UPDATE's part of a key).
        key.set.assign(k.size(), false);
        // INSERT IGNORE skips a row a unique key refuses; "ignore" does so for the guard's.
        key.drop = action == config::GuardAction::ignore ||
                   (insert.ignore && action == config::GuardAction::reject);
        p.keys.push_back(std::move(key));
    }
    if (p.keys.empty()) return {};

    // The table as the client named it: the stage, the check and the copy reach the table its
    // statement would (guards_of_table matched the name without regard to case).
    p.schema = insert.table.schema;
    p.table = insert.table.name;
    if (!insert.columns.empty()) p.insert_columns = insert.columns;
    auto sql = guard::mysql_staged_insert_sql(
        p.schema, p.table, text.substr(from, statement.trimmed.end() - from), keys, insert.ignore);
    p.staged_insert = true;
    p.insert_ignore = insert.ignore;
    p.stage_all_log = all_log;
    return begin_staged(std::move(p), std::move(sql), text, session);
}

MySqlGuard::Step MySqlGuard::begin_staged(PendingUpdate p, guard::MySqlStageSql sql,
                                          std::string_view text, const MySqlGuardSession& session) {
    p.statement.assign(text);
    p.session = session;
    p.stage = std::move(sql.stage);
    p.check = locking_check_wanted(session) ? sql.locking_probe : sql.probe;
    p.locking_check = std::move(sql.locking_probe);
    for (const auto& k : p.keys)
        k.guard->counters().checked.fetch_add(1, std::memory_order_relaxed);
    // Begins the statement's claims: its keys are claimed once the check has read them.
    if (auto wait = claim_update_keys(p)) return *wait;
    Step step{Step::Kind::check, p.stage.front()};
    pending_update_ = std::move(p);
    return step;
}

std::optional<MySqlGuard::Step> MySqlGuard::plan_copy(PendingUpdate& p, std::string_view answer) {
    const auto table = guard::mysql_read_table_columns(answer);
    auto& g = *p.keys.front().guard;
    if (!table)
        return unenforced(g, "an INSERT … SELECT whose table's columns the proxy could not read");
    p.last_insert_id = table->last_insert_id;
    // Every column the stage has, but those the table fills itself: a default is evaluated
    // once, in the stage (NEXT VALUE FOR, UUID()), and the table stores the key the check read.
    // An AUTO_INCREMENT column cannot come from the stage, whose counter is its own.
    std::vector<std::string> copied;
    for (const auto& c : table->columns) {
        if (c.kind == 'g') continue;
        if (c.kind == 'a') {
            if (!p.insert_columns)
                return unenforced(g,
                                  "INSERT … SELECT without a column list into a table with an "
                                  "AUTO_INCREMENT column (`" +
                                      c.name + "`)");
            if (has_name(*p.insert_columns, c.name))
                return unenforced(
                    g, "INSERT … SELECT that gives the AUTO_INCREMENT column `" + c.name + "`");
            continue;
        }
        copied.push_back(c.name);
    }
    // No columns: the table does not exist (or is not visible); making the stage fails with
    // the server's own error.
    if (copied.empty()) return std::nullopt;
    guard::MySqlStageCopy how;
    how.ignore = p.insert_ignore;
    for (const auto& k : p.keys)
        if (k.drop) how.drop.push_back(&k.guard->mysql_table()->keys);
    p.final_sql = guard::mysql_stage_copy_sql(p.schema, p.table, copied, how);
    return std::nullopt;
}

std::optional<MySqlGuard::Step> MySqlGuard::plan_fill(PendingUpdate& p, std::string_view answer) {
    const auto table = guard::mysql_read_table_columns(answer);
    if (!table)
        return unenforced(
            *p.keys.front().guard,
            "an UPDATE of a key column whose table's columns the proxy could not read");
    // Every column but the generated ones (the stage computes them again).
    std::vector<std::string> columns;
    for (const auto& c : table->columns)
        if (c.kind != 'g') columns.push_back(c.name);
    // No columns: the table does not exist (or is not visible); making the stage fails with the
    // server's own error first.
    if (columns.empty()) columns.emplace_back("*");
    p.stage[3] = guard::mysql_staged_update_fill(
        p.schema, p.table, p.update_alias,
        p.update_where ? std::optional<std::string_view>(*p.update_where) : std::nullopt, columns);
    return std::nullopt;
}

MySqlGuard::Step MySqlGuard::on_stage_reply(const my::ValueReplyReader& reply) {
    auto& p = *pending_update_;
    const std::size_t index = p.staged++;
    if (reply.status() == my::ValueReplyReader::Status::done && !reply.failed()) {
        if (index == 0) {
            // The first command read the table's columns: an INSERT … SELECT's copy, or the copy
            // of an UPDATE's matched rows into the stage.
            const std::string answer = reply.value().value_or("");
            auto refused = p.staged_insert ? plan_copy(p, answer) : plan_fill(p, answer);
            if (refused) {
                claims_.release_statement();
                pending_update_.reset();
                return *refused;
            }
        }
        // The next stage command, then the check.
        if (p.staged < p.stage.size()) return {Step::Kind::check, p.stage[p.staged]};
        return {Step::Kind::check, p.check};
    }
    PendingUpdate gone = std::move(p);
    pending_update_.reset();
    auto& g = *gone.keys.front().guard;
    const bool answered = reply.status() == my::ValueReplyReader::Status::done;
    spdlog::warn(
        "guard {}: staging {} failed: {}", g.config().name, staged_form(gone.staged_insert),
        answered ? "ERROR " + std::to_string(reply.error_code()) + ": " + reply.error_message()
                 : std::string("an unexpected reply"));
    const bool own = answered && (index >= stage_statement_from ||
                                  (index > 0 && statements_own_error(reply.error_code())));
    // Every guard logs: the client's statement goes as it came, unchecked (unless it is its
    // own error, which it would meet again).
    if (gone.stage_all_log && !own) return {};
    claims_.release_statement();
    g.counters().refused.fetch_add(1, std::memory_order_relaxed);
    Step step;
    if (own) {
        // The stage's fill is the client's own statement into it, or its WHERE and SET list on
        // the stage (its columns, conversions, NOT NULL and CHECK constraints are the table's):
        // its error is the statement's, raised by the server in its place. MariaDB names the
        // column's table in some (1366 "Incorrect integer value: 'x' for column `db`.`t`.`c` at
        // row 1"): the table's name there, not the stage's.
        std::string message = reply.error_message();
        const std::string stage = guard::mysql_stage_name(gone.schema, gone.table);
        for (auto at = message.find(stage); at != std::string::npos;
             at = message.find(stage, at + gone.table.size()))
            message.replace(at, stage.size(), gone.table);
        step = signal_step(reply.error_code(),
                           reply.error_sqlstate().empty() ? "HY000" : reply.error_sqlstate(),
                           message, false);
    } else {
        // Making the stage failed (no CREATE TEMPORARY TABLES privilege, a partitioned table).
        step = signal_step(
            my::error_code::not_supported_yet, "42000",
            "uniqguard: guard \"" + g.config().name + "\" could not stage the rows of " +
                staged_form(gone.staged_insert) + " on table \"" + table_of(g) + "\" (" +
                (answered
                     ? "ERROR " + std::to_string(reply.error_code()) + ": " + reply.error_message()
                     : std::string("an unexpected reply")) +
                "); the statement was refused",
            false);
    }
    return staged_refusal(gone, std::move(step));
}

MySqlGuard::Step MySqlGuard::staged_refusal(const PendingUpdate& p, Step signal) {
    if (!p.last_insert_id.empty())
        signal.before.push_back(std::string(1, static_cast<char>(my::Command::query)) +
                                "DO LAST_INSERT_ID(" + p.last_insert_id + ")");
    return signal;
}

MySqlGuard::Step MySqlGuard::on_update_staged(const sql::UpdateStatement& update,
                                              std::string_view text,
                                              const std::vector<guard::GuardState*>& guards,
                                              const MySqlSessionSettings& settings,
                                              const MySqlGuardSession& session) {
    auto& first = *guards.front();
    if (update.partition)
        return unenforced(first, "an UPDATE … PARTITION (…) setting a key column to an expression");
    if (!update.set_list.known())
        return unenforced(first, "an UPDATE of a key column the proxy cannot read");
    if (has_executable_comment(text))
        return unenforced(first, "an UPDATE of a key column with an executable comment (/*! … */)");
    // The stage computes the new values apart from the UPDATE: they must be the values the
    // UPDATE then computes (the WHERE was looked at by update_refusal).
    const auto set_list = update.set_list.text(text);
    if (auto what = guard::mysql_unrepeatable_in_where(set_list, settings.dialect()))
        return unenforced(first, "an UPDATE of a key column whose SET list holds " + *what +
                                     " (the proxy's check could compute other values than the "
                                     "UPDATE)");
    PendingUpdate p;
    const guard::MySqlGuardTable* table = nullptr;
    bool all_log = true;
    std::vector<const guard::MySqlKeyColumns*> keys;
    for (auto* g : guards) {
        if (g->state() != guard::GuardLoadState::ready) continue;  // when_unready: on_update
        if (g->config().action != config::GuardAction::log) all_log = false;
        table = g->mysql_table();
        keys.push_back(&table->keys);
        UpdateKey key;
        key.guard = g;
        key.set.assign(table->keys.size(), false);  // every part read from the stage
        p.keys.push_back(std::move(key));
    }
    if (p.keys.empty()) return {};
    // The order InnoDB writes the rows in: its clustered index, when that is one column the
    // UPDATE leaves alone (the stage's rows keep their place in it).
    std::string order;
    if (table->primary_key_columns.size() == 1) {
        order = table->primary_key_columns.front();
        for (const auto& a : update.assignments)
            if (same_name(column_of(a.column), order)) order.clear();
    }
    std::optional<std::string_view> where;
    if (update.has_where) where = update.where.text(text);
    // The table as the client named it (guards_of_table matched it without regard to case).
    auto sql = guard::mysql_staged_update_sql(update.table.schema, update.table.name, update.alias,
                                              where, set_list, keys, order);
    p.schema = update.table.schema;
    p.table = update.table.name;
    if (where) p.update_where = std::string(*where);
    p.update_alias = update.alias;
    p.stage_all_log = all_log;
    return begin_staged(std::move(p), std::move(sql), text, session);
}

MySqlGuard::Step MySqlGuard::on_prepared_update_staged(
    const PreparedStatement& statement, const std::vector<guard::GuardState*>& guards,
    const MySqlSessionSettings& settings, const MySqlGuardSession& session) {
    auto& first = *guards.front();
    // The stage's commands are COM_QUERY text read now, with the execute's values written in.
    constexpr std::string_view form = "a prepared UPDATE setting a key column to an expression";
    auto text = execute_as_text(statement, form, first, settings, session, true);
    if (auto* refused = std::get_if<Step>(&text)) return *refused;
    const auto& sql = std::get<std::string>(text);
    const auto parsed = sql::parse_mysql(sql, settings.dialect());
    const auto* update = parsed.statements.size() == 1
                             ? parsed.statements.front().get<sql::UpdateStatement>()
                             : nullptr;
    if (!update)
        return unenforced(first, "an execute of " + std::string(form) +
                                     " whose text with its values the proxy cannot read");
    return on_update_staged(*update, sql, guards, settings, session);
}

bool MySqlGuard::locking_check_wanted(const MySqlGuardSession& session) const {
    return wait_guard_ != nullptr || !session.status_seen ||
           in_transaction_or_unknown(session.server_status);
}

}  // namespace uniqguard::proxy
