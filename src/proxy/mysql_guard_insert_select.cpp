// MySqlGuard: an INSERT … SELECT (… TABLE, WITH … SELECT) into a guarded table, alone in its
// COM_QUERY. Its rows are not in its text, and evaluating its SELECT apart from the INSERT could
// read other rows (RAND(), a concurrent commit), so the rows themselves are staged: the client's
// statement runs, unchanged but for its table's name, into a temporary table made LIKE the
// guarded one in the client's own session (the values converted, defaulted and refused as the
// table would), the stage's keys are read and checked as an UPDATE's new keys are (the same
// answer, guard/mysql_insert_select_sql.hpp), claimed, and the stage's rows copied into the
// table in the client's statement's place: its OK is the copy's (docs/mysql.md).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "guard/mysql_insert_select_sql.hpp"
#include "protocol/mysql/error_codes.hpp"
#include "proxy/mysql_guard.hpp"
#include "proxy/mysql_guard_names.hpp"

namespace uniqguard::proxy {

namespace my = protocol::mysql;

using namespace mysql_names;

namespace {

bool has_name(const std::vector<std::string>& names, std::string_view name) {
    return std::any_of(names.begin(), names.end(),
                       [&](const std::string& n) { return same_name(n, name); });
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
    const std::size_t from = insert.table_name.end();
    if (!insert.table_name.known() || !statement.trimmed.known() || from > statement.trimmed.end())
        return unenforced(first, "an INSERT … SELECT the proxy cannot read");

    // Not loaded yet: when_unready, for every guard of the table (as for an INSERT).
    if (auto refused = unready_step(guards, text)) return *refused;

    PendingUpdate p;
    const guard::MySqlGuardTable* table = nullptr;
    bool all_log = true;
    std::vector<const guard::MySqlKeyColumns*> keys;
    for (auto* g : guards) {
        if (g->state() != guard::GuardLoadState::ready) continue;  // forwarded unchecked above
        // Dropping the duplicate rows would need the stage's rows told apart: not built yet.
        if (insert.ignore) return unenforced(*g, "INSERT IGNORE … SELECT");
        if (g->config().action == config::GuardAction::ignore)
            return unenforced(*g, "INSERT … SELECT under action \"ignore\"");
        if (g->config().action != config::GuardAction::log) all_log = false;
        table = g->mysql_table();
        keys.push_back(&table->keys);
        UpdateKey key;
        key.guard = g;
        // Every part of the key comes from the stage's rows (read as an UPDATE's part of a key).
        key.set.assign(table->keys.size(), false);
        p.keys.push_back(std::move(key));
    }
    if (p.keys.empty()) return {};

    // The copy names the client's columns and every key column it leaves to its default, so
    // that the table stores the keys the check read (a default such as UUID() is evaluated
    // once, in the stage). A column the server fills itself cannot be copied: an
    // AUTO_INCREMENT one would take the stage's own counter.
    std::vector<std::string> copied;
    const auto& counted = table->auto_increment_columns;
    const auto& generated = table->generated_columns;
    if (insert.columns.empty()) {
        if (!counted.empty())
            return unenforced(first,
                              "INSERT … SELECT without a column list into a table with an "
                              "AUTO_INCREMENT column (`" +
                                  counted.front() + "`)");
        for (const auto& c : table->columns)
            if (!has_name(generated, c)) copied.push_back(c);
    } else {
        for (const auto& c : insert.columns) {
            if (has_name(counted, c))
                return unenforced(
                    first, "INSERT … SELECT that gives the AUTO_INCREMENT column `" + c + "`");
            copied.push_back(c);
        }
        for (const auto* k : keys)
            for (std::size_t i = 0; i < k->size(); ++i) {
                const auto& name = k->column(i).name;
                if (has_name(copied, name) || has_name(generated, name)) continue;
                if (has_name(counted, name))
                    return unenforced(first,
                                      "INSERT … SELECT leaving the AUTO_INCREMENT key "
                                      "column `" +
                                          name + "` to its counter");
                copied.push_back(name);
            }
    }

    auto sql = guard::mysql_staged_insert_sql(table->schema, table->name,
                                              text.substr(from, statement.trimmed.end() - from),
                                              copied, keys);
    p.statement.assign(text);
    p.session = session;
    p.stage = {std::move(sql.drop_stage), std::move(sql.create_stage), std::move(sql.fill)};
    p.check = std::move(sql.probe);
    if (!all_log) p.final_sql = std::move(sql.copy);
    for (const auto& k : p.keys)
        k.guard->counters().checked.fetch_add(1, std::memory_order_relaxed);
    // Begins the statement's claims: its keys are claimed once the check has read them.
    if (auto wait = claim_update_keys(p)) return *wait;
    Step step{Step::Kind::check, p.stage.front()};
    pending_update_ = std::move(p);
    return step;
}

MySqlGuard::Step MySqlGuard::on_stage_reply(const my::ValueReplyReader& reply) {
    auto& p = *pending_update_;
    const std::size_t index = p.staged++;
    if (reply.status() == my::ValueReplyReader::Status::done && !reply.failed()) {
        // The next stage command, then the check.
        if (p.staged < p.stage.size()) return {Step::Kind::check, p.stage[p.staged]};
        return {Step::Kind::check, p.check};
    }
    PendingUpdate gone = std::move(p);
    pending_update_.reset();
    auto& g = *gone.keys.front().guard;
    const bool answered = reply.status() == my::ValueReplyReader::Status::done;
    spdlog::warn("guard {}: staging an INSERT … SELECT failed: {}", g.config().name,
                 answered
                     ? "ERROR " + std::to_string(reply.error_code()) + ": " + reply.error_message()
                     : std::string("an unexpected reply"));
    // Every guard logs: the client's statement goes as it came, unchecked.
    if (gone.final_sql.empty()) return {};
    claims_.release_statement();
    g.counters().refused.fetch_add(1, std::memory_order_relaxed);
    if (answered && index + 1 == gone.stage.size()) {
        // The fill is the client's own statement into the stage (its columns, conversions,
        // NOT NULL and CHECK constraints are the table's): its error is the statement's, raised
        // by the server in its place. MariaDB names the column's table in some (1366
        // "Incorrect integer value: 'x' for column `db`.`t`.`c` at row 1"): the table's name
        // there, not the stage's.
        const auto& table = *g.mysql_table();
        std::string message = reply.error_message();
        const std::string stage = guard::mysql_stage_name(table.schema, table.name);
        for (auto at = message.find(stage); at != std::string::npos;
             at = message.find(stage, at + table.name.size()))
            message.replace(at, stage.size(), table.name);
        return signal_step(reply.error_code(),
                           reply.error_sqlstate().empty() ? "HY000" : reply.error_sqlstate(),
                           message, false);
    }
    // Making the stage failed (no CREATE TEMPORARY TABLES privilege, say).
    return signal_step(
        my::error_code::not_supported_yet, "42000",
        "uniqguard: guard \"" + g.config().name +
            "\" could not stage the rows of an INSERT … SELECT on table \"" + table_of(g) + "\" (" +
            (answered ? "ERROR " + std::to_string(reply.error_code()) + ": " + reply.error_message()
                      : std::string("an unexpected reply")) +
            "); the statement was refused",
        false);
}

}  // namespace uniqguard::proxy
