// MySqlGuard: an UPDATE that sets key columns of a guarded table (a COM_QUERY). Enforced when
// it sets every key column of each guard it touches to a literal the proxy keys, on one table,
// without ORDER BY / LIMIT: every row it matches then ends with the same new key, so it breaks
// the key exactly when, after it, more than one row holds that key (docs/mysql.md, "UPDATE of
// key columns"). The check counts those rows in the client's session; the UPDATE itself goes
// unchanged, or a SIGNAL answers it with the unique index's ERR 1062.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "guard/key_fingerprint.hpp"
#include "guard/mysql_insert_keys.hpp"
#include "guard/mysql_update_check_sql.hpp"
#include "protocol/mysql/command_tracker.hpp"
#include "protocol/mysql/error_codes.hpp"
#include "proxy/mysql_guard.hpp"

namespace uniqguard::proxy {

namespace my = protocol::mysql;

namespace {

constexpr std::uint16_t no_backslash_escapes_flag = 0x0200;  // SERVER_STATUS_NO_BACKSLASH_ESCAPES

bool same_column(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// The column an assignment sets (`t.k` or `k`).
std::string_view assigned_column(std::string_view target) {
    const auto dot = target.rfind('.');
    return dot == std::string_view::npos ? target : target.substr(dot + 1);
}

std::string table_name(const guard::GuardState& g) {
    if (const auto* t = g.mysql_table()) return t->schema + "." + t->name;
    return g.config().table;
}

MySqlGuard::Step signal(std::uint16_t code, std::string_view sqlstate, std::string_view message) {
    return {MySqlGuard::Step::Kind::replace, guard::mysql_signal_sql(code, sqlstate, message)};
}

}  // namespace

MySqlGuard::Step MySqlGuard::on_update(const sql::UpdateStatement& update, std::string_view text,
                                       const std::vector<guard::GuardState*>& guards,
                                       const MySqlSessionSettings& settings,
                                       const MySqlGuardSession& session) {
    auto& first = *guards.front();
    // Each of these can write several new keys, in an order the proxy does not know.
    if (update.has_from) return unenforced(first, "a multi-table UPDATE that sets a key column");
    if (update.order_or_limit)
        return unenforced(first, "an UPDATE … ORDER BY / LIMIT that sets a key column");
    // A real UPDATE IGNORE changes the first matching row and skips the others with a warning,
    // in the order InnoDB reads them: not something a SIGNAL or the UPDATE's own text gives.
    if (update.ignore) return unenforced(first, "UPDATE IGNORE of a key column");

    // Not loaded yet: when_unready, for every guard of the table (as for an INSERT).
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
                      "uniqguard: writes to table \"" + table_name(*g) +
                          "\" are refused until guard \"" + cfg.name + "\" is ready (" + why + ")");
    }

    const bool server_nbe = (session.server_status & no_backslash_escapes_flag) != 0;
    const bool sql_mode_known =
        settings.sql_mode_known() &&
        (!session.status_seen || server_nbe == settings.dialect().no_backslash_escapes);

    PendingUpdate p;
    for (auto* g : guards) {
        if (g->state() != guard::GuardLoadState::ready) continue;  // forwarded unchecked above
        if (!sql_mode_known)
            return unenforced(*g, "an UPDATE under an sql_mode the proxy did not follow");
        // A plain UPDATE under `ignore` would have to skip the rows that collide, as UPDATE
        // IGNORE does (refused above for the same reason).
        if (g->config().action == config::GuardAction::ignore)
            return unenforced(*g, "an UPDATE of a key column under action \"ignore\"");
        const auto& table = *g->mysql_table();
        // The new key's parts, read as the values of a one-row INSERT of the key columns.
        sql::InsertStatement row;
        std::vector<sql::Value> values;
        for (std::size_t k = 0; k < table.keys.size(); ++k) {
            const auto& name = table.keys.column(k).name;
            const sql::Assignment* set = nullptr;
            for (const auto& a : update.assignments) {
                if (!same_column(assigned_column(a.column), name)) continue;
                // MySQL applies assignments left to right; one key column set twice is rare
                // enough to be refused rather than followed.
                if (set)
                    return unenforced(*g, "an UPDATE that sets key column `" + name + "` twice");
                set = &a;
            }
            // The rows' new keys would depend on their other key columns: each matched row may
            // end with a key of its own.
            if (!set)
                return unenforced(*g, "an UPDATE that sets part of the key (not `" + name + "`)");
            row.columns.push_back(name);
            values.push_back(set->value);
        }
        row.rows.push_back(values);
        std::string why;
        const auto keys = guard::mysql_insert_row_keys(row, text, table.columns, table.keys,
                                                       settings.client_charset(), why);
        if (!keys || keys->size() != 1)
            return unenforced(*g, "an UPDATE of a key column (" + why + ")");
        const auto& parts = keys->front();
        std::string encoded;
        UpdateKey key;
        key.guard = g;
        bool has_null = false;
        for (std::size_t k = 0; k < parts.size(); ++k) {
            if (parts[k].status == guard::NormalizeStatus::null) {
                has_null = true;
                break;
            }
            if (!parts[k].ok())
                return unenforced(*g, "an UPDATE setting key column `" + table.keys.column(k).name +
                                          "` to a value the proxy cannot read (an expression, "
                                          "DEFAULT, a character set introducer, a value the "
                                          "server may convert)");
            guard::append_key_part(encoded, parts[k]);
            const auto literal = guard::mysql_literal_of(values[k], text);
            key.text.push_back(guard::mysql_key_part_text(table.keys.column(k).type, parts[k],
                                                          literal ? literal->text : ""));
        }
        // A key with a NULL never collides (a unique index lets NULLs repeat).
        if (has_null) continue;
        key.fingerprint = guard::fingerprint_encoded_key(encoded, g->seed());
        p.keys.push_back(std::move(key));
    }
    if (p.keys.empty()) return {};
    p.statement.assign(text);
    p.session = session;
    if (auto wait = claim_update_keys(p)) return *wait;

    const auto& table = *p.keys.front().guard->mysql_table();
    std::vector<guard::MySqlUpdateProbe> probes;
    for (const auto& k : p.keys) {
        probes.push_back({&k.guard->mysql_table()->keys, &k.text});
        k.guard->counters().checked.fetch_add(1, std::memory_order_relaxed);
    }
    const auto where = update.has_where ? std::optional(update.where.text(text)) : std::nullopt;
    Step step{Step::Kind::check,
              guard::mysql_update_check_sql(table.schema, table.name, update.alias, where, probes)};
    pending_update_ = std::move(p);
    return step;
}

std::optional<MySqlGuard::Step> MySqlGuard::claim_update_keys(const PendingUpdate& p) {
    claims_.begin_statement();
    for (const auto& key : p.keys) {
        auto& g = *key.guard;
        // `log` changes nothing on the wire: it never waits, so it claims nothing.
        if (g.config().action == config::GuardAction::log) continue;
        if (claims_.claim(g.claims(), key.fingerprint)) continue;
        // Held by another session's transaction: decided afresh once it is released.
        claims_.release_statement();
        if (interrupt_) {
            // The wait ended without the release: the error takes the UPDATE's place (the
            // transaction rolled back first for a deadlock's victim, as InnoDB does).
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
    return std::nullopt;
}

MySqlGuard::Step MySqlGuard::on_update_check_reply(const my::ValueReplyReader& reply) {
    const PendingUpdate p = std::move(*pending_update_);
    pending_update_.reset();
    const bool answered = reply.status() == my::ValueReplyReader::Status::done && !reply.failed() &&
                          reply.value() && reply.value()->size() == p.keys.size();
    if (!answered) {
        auto& g = *p.keys.front().guard;
        const bool all_log = std::all_of(p.keys.begin(), p.keys.end(), [](const UpdateKey& k) {
            return k.guard->config().action == config::GuardAction::log;
        });
        if (reply.failed()) {
            spdlog::warn("guard {}: the check of an UPDATE failed: ERROR {}: {}", g.config().name,
                         reply.error_code(), reply.error_message());
            if (all_log) return pass_update(p);
            // The check reads the UPDATE's own WHERE in the same session: its error (an unknown
            // column, a lock wait timeout…) is the one the UPDATE would meet; the server raises
            // it in the UPDATE's place.
            claims_.release_statement();
            g.counters().refused.fetch_add(1, std::memory_order_relaxed);
            return signal(reply.error_code(),
                          reply.error_sqlstate().empty() ? "HY000" : reply.error_sqlstate(),
                          reply.error_message());
        }
        spdlog::warn("guard {}: the check of an UPDATE got an unexpected reply", g.config().name);
        if (all_log) return pass_update(p);
        claims_.release_statement();
        g.counters().refused.fetch_add(1, std::memory_order_relaxed);
        return signal(my::error_code::not_supported_yet, "42000",
                      "uniqguard: guard \"" + g.config().name +
                          "\" could not check the statement's keys on the server (an unexpected "
                          "reply); the statement was refused");
    }
    const std::string& verdicts = *reply.value();
    // As the server checks its unique keys in turn, the first guard (config order) decides.
    for (std::size_t i = 0; i < p.keys.size(); ++i) {
        if (verdicts[i] != '1') continue;
        const auto& key = p.keys[i];
        auto& g = *key.guard;
        if (g.config().action == config::GuardAction::log) {
            g.counters().logged.fetch_add(1, std::memory_order_relaxed);
            log_update_duplicate(p, key, guard::DuplicateAction::logged);
            continue;
        }
        g.counters().rejected.fetch_add(1, std::memory_order_relaxed);
        log_update_duplicate(p, key, guard::DuplicateAction::rejected);
        claims_.release_statement();  // the UPDATE does not run: it writes none of its keys
        return signal(my::error_code::dup_entry, "23000",
                      guard::mysql_duplicate_message(key.text, g.config().name));
    }
    return pass_update(p);
}

MySqlGuard::Step MySqlGuard::pass_update(const PendingUpdate& p) {
    // Before the UPDATE runs, so that the key set never lacks a key the server holds.
    for (const auto& key : p.keys) {
        key.guard->keys().insert(key.fingerprint);
        key.guard->counters().passed.fetch_add(1, std::memory_order_relaxed);
    }
    return {};
}

void MySqlGuard::log_update_duplicate(const PendingUpdate& p, const UpdateKey& key,
                                      guard::DuplicateAction action) {
    if (log_ == nullptr) return;
    const auto& g = *key.guard;
    guard::DuplicateRecord r;
    r.time = std::chrono::system_clock::now();
    r.guard = g.config().name;
    r.table = table_name(g);
    r.columns = g.config().columns;
    r.values = key.text;
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
