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
#include "guard/mysql_param_sql.hpp"
#include "guard/mysql_repeatable_where.hpp"
#include "guard/mysql_update_check_sql.hpp"
#include "protocol/mysql/command_tracker.hpp"
#include "protocol/mysql/error_codes.hpp"
#include "proxy/mysql_guard.hpp"
#include "proxy/mysql_guard_names.hpp"

namespace uniqguard::proxy {

namespace my = protocol::mysql;

using namespace mysql_names;

std::optional<std::string> MySqlGuard::update_refusal(const sql::UpdateStatement& update,
                                                      std::string_view text,
                                                      const sql::MySqlDialect& dialect) {
    // Each of these can write several new keys, in an order the proxy does not know.
    if (update.has_from) return "a multi-table UPDATE that sets a key column";
    if (update.order_or_limit) return "an UPDATE … ORDER BY / LIMIT that sets a key column";
    // A real UPDATE IGNORE changes the first matching row and skips the others with a warning,
    // in the order InnoDB reads them: not something a SIGNAL or the UPDATE's own text gives.
    if (update.ignore) return "UPDATE IGNORE of a key column";
    // The check evaluates the WHERE apart from the UPDATE: it must read the same rows there.
    if (update.has_where)
        if (auto what = guard::mysql_unrepeatable_in_where(update.where.text(text), dialect))
            return "an UPDATE of a key column whose WHERE holds " + *what +
                   " (the proxy's check could read other rows than the UPDATE)";
    return std::nullopt;
}

MySqlGuard::Step MySqlGuard::on_update(const sql::UpdateStatement& update, std::string_view text,
                                       const std::vector<guard::GuardState*>& guards,
                                       const MySqlSessionSettings& settings,
                                       const MySqlGuardSession& session,
                                       const PreparedStatement* prepared,
                                       const std::vector<my::ExecuteParam>* params) {
    auto& first = *guards.front();
    // A prepared UPDATE was read under its prepare's sql_mode (checked then).
    const auto& dialect = prepared ? prepared->dialect : settings.dialect();
    if (auto why = update_refusal(update, text, dialect)) return unenforced(first, *why);

    // Not loaded yet: when_unready, for every guard of the table (as for an INSERT).
    if (auto refused = unready_step(guards, text)) return *refused;

    // The check sends the WHERE as text in the session now: the session must read it as the
    // server read the prepared statement (sql_mode: its quoting, PIPES_AS_CONCAT,
    // EMPTY_STRING_IS_NULL…; the character set and collation of its literals), so nothing of
    // that may have changed since the prepare.
    const bool sql_mode_known =
        follows_sql_mode(settings.sql_mode_known(), settings.dialect().no_backslash_escapes,
                         session.server_status, session.status_seen) &&
        (!prepared ||
         (settings.version() == prepared->settings_version && settings.text_readable()));
    PendingUpdate p;
    for (auto* g : guards) {
        if (g->state() != guard::GuardLoadState::ready) continue;  // forwarded unchecked above
        if (!sql_mode_known)
            return unenforced(*g, prepared ? "an execute of a prepared UPDATE after a change of "
                                             "sql_mode, character set or collation since its "
                                             "prepare (prepare it again), or under an sql_mode "
                                             "the proxy did not follow"
                                           : "an UPDATE under an sql_mode the proxy did not "
                                             "follow");
        // Under `ignore` a plain UPDATE is judged as under `reject`: `ignore` is what ON
        // CONFLICT DO NOTHING / INSERT IGNORE give, and an UPDATE has neither: its duplicate is
        // the unique key's 1062, as on PostgreSQL (docs/mysql.md, "UPDATE of key columns").
        const auto& table = *g->mysql_table();
        // The new key's parts, read as the values of a one-row INSERT of the key columns set
        // (a column not set reads as left out: not keyed, taken from each row by the check).
        sql::InsertStatement row;
        std::vector<sql::Value> values;
        std::vector<bool> is_set;
        for (std::size_t k = 0; k < table.keys.size(); ++k) {
            const auto& name = table.keys.column(k).name;
            const sql::Assignment* set = nullptr;
            for (const auto& a : update.assignments) {
                if (!same_name(column_of(a.column), name)) continue;
                // MySQL applies assignments left to right; one key column set twice is rare
                // enough to be refused rather than followed.
                if (set) return stage_update(update, text, guards, settings, session, prepared);
                set = &a;
            }
            is_set.push_back(set != nullptr);
            values.push_back(set ? set->value : sql::Value{});
            if (!set) continue;
            row.columns.push_back(name);
            row.rows.resize(1);
            row.rows[0].push_back(set->value);
        }
        std::string why;
        const auto keys = guard::mysql_insert_row_keys(
            row, text, table.columns, table.keys, settings.client_charset(), why,
            params ? std::span<const my::ExecuteParam>(*params)
                   : std::span<const my::ExecuteParam>(),
            settings.dialect().empty_string_is_null);
        // A text UPDATE whose new key the proxy cannot read from its text is staged: the server
        // computes the new keys (mysql_guard_staged.cpp).
        if (!keys || keys->size() != 1)
            return stage_update(update, text, guards, settings, session, prepared);
        const auto& parts = keys->front();
        std::string encoded;
        UpdateKey key;
        key.guard = g;
        bool has_null = false;
        const bool whole = std::all_of(is_set.begin(), is_set.end(), [](bool b) { return b; });
        if (!whole) key.set = is_set;
        for (std::size_t k = 0; k < parts.size(); ++k) {
            if (!is_set[k]) {
                key.text.emplace_back(std::nullopt);
                continue;
            }
            if (parts[k].status == guard::NormalizeStatus::null) {
                has_null = true;
                break;
            }
            if (!parts[k].ok())
                return stage_update(update, text, guards, settings, session, prepared);
            guard::append_key_part(encoded, parts[k]);
            std::string_view literal;
            const auto& v = values[k];
            if (params && v.kind == sql::ValueKind::parameter && v.parameter >= 1 &&
                static_cast<std::size_t>(v.parameter) <= params->size())
                literal =
                    util::as_chars((*params)[static_cast<std::size_t>(v.parameter) - 1].value);
            else if (const auto l = guard::mysql_literal_of(v, text, settings.client_charset()))
                literal = l->text;
            key.text.push_back(
                guard::mysql_key_part_text(table.keys.column(k).type, parts[k], literal));
        }
        // A key with a NULL never collides (a unique index lets NULLs repeat).
        if (has_null) continue;
        if (whole) key.fingerprint = guard::fingerprint_encoded_key(encoded, g->seed());
        p.keys.push_back(std::move(key));
    }
    if (p.keys.empty()) return {};
    std::optional<std::string> where;
    if (update.has_where) where = std::string(update.where.text(text));
    if (update.has_where && params) {
        // The execute's values written into the WHERE: the check reads the rows it will.
        std::vector<sql::MySqlToken> tokens;
        if (!sql::lex_mysql(text, dialect, tokens))
            where =
                guard::mysql_text_with_params(text, tokens, update.where.offset, update.where.end(),
                                              *params, settings.dialect().no_backslash_escapes);
        else
            where.reset();
        if (!where)
            return unenforced(first,
                              "an execute of a prepared UPDATE with a value in its WHERE the "
                              "proxy cannot write into its check (TIME, BIT, JSON, a zero or "
                              "impossible date, long data past what the proxy keeps)");
    }
    p.statement.assign(text);
    p.session = session;
    if (auto wait = claim_update_keys(p)) return *wait;

    const auto& table = *p.keys.front().guard->mysql_table();
    std::vector<guard::MySqlUpdateProbe> probes;
    for (const auto& k : p.keys) {
        probes.push_back({&k.guard->mysql_table()->keys, &k.text, k.set});
        k.guard->counters().checked.fetch_add(1, std::memory_order_relaxed);
    }
    p.check = guard::mysql_update_check_sql(
        table.schema, table.name, update.alias,
        where ? std::optional<std::string_view>(*where) : std::nullopt, probes);
    Step step{Step::Kind::check, p.check};
    pending_update_ = std::move(p);
    return step;
}

std::optional<MySqlGuard::Step> MySqlGuard::claim_update_keys(const PendingUpdate& p) {
    claims_.begin_statement();
    for (const auto& key : p.keys) {
        auto& g = *key.guard;
        // `log` changes nothing on the wire: it never waits, so it claims nothing.
        if (g.config().action == config::GuardAction::log) continue;
        // Part of a key: the new keys are known only after the check (claimed then).
        // (No commit recorded for an UPDATE's key: it may match no row, and a key recorded as
        // committed that no row holds would be a false duplicate under REPEATABLE READ.)
        if (!key.set.empty() || claims_.claim(g.claims(), key.fingerprint)) continue;
        // Held by another session's transaction: decided afresh once it is released.
        return held_by_another(g);
    }
    return std::nullopt;
}

MySqlGuard::Step MySqlGuard::on_update_check_reply(const my::ValueReplyReader& reply) {
    if (pending_update_->staged < pending_update_->stage.size()) return on_stage_reply(reply);
    PendingUpdate p = std::move(*pending_update_);
    pending_update_.reset();
    // An UPDATE of key columns is never one statement of several (refused whole there): its
    // SIGNALs replace the whole command.
    const auto signal = [&p](std::uint16_t code, std::string_view sqlstate,
                             std::string_view message) {
        return staged_refusal(p, MySqlGuard::signal_step(code, sqlstate, message, false));
    };
    ++p.asked;
    // Part of a key: this reply lists every matched row's new key again; the earlier reply's
    // keys (claimed then) tell which ones are new now.
    std::vector<std::vector<std::uint64_t>> earlier(p.keys.size());
    for (std::size_t i = 0; i < p.keys.size(); ++i) {
        earlier[i] = std::move(p.keys[i].learned);
        p.keys[i].learned.clear();
        p.keys[i].repeated.clear();
        p.keys[i].repeated_inside = false;
        // Looked up once per new key below: sorted, so an UPDATE of many rows stays n log n.
        std::sort(earlier[i].begin(), earlier[i].end());
    }
    // One answer per guard, joined by ';' (guard/mysql_update_check_sql.hpp).
    std::vector<std::string_view> answers;
    std::vector<std::vector<guard::MySqlKeyText>> duplicates(p.keys.size());
    bool answered =
        reply.status() == my::ValueReplyReader::Status::done && !reply.failed() && reply.value();
    if (answered) {
        std::string_view rest = *reply.value();
        for (;;) {
            const auto semicolon = rest.find(';');
            answers.push_back(rest.substr(0, semicolon));
            if (semicolon == std::string_view::npos) break;
            rest.remove_prefix(semicolon + 1);
        }
        answered = answers.size() == p.keys.size();
        for (std::size_t i = 0; answered && i < p.keys.size(); ++i) {
            if (p.keys[i].set.empty()) {
                answered = answers[i] == "0" || answers[i] == "1";
                if (answers[i] == "1") duplicates[i].push_back(p.keys[i].text);
            } else {
                answered = read_new_keys(p.keys[i], answers[i], duplicates[i]);
            }
        }
    }
    if (!answered) {
        auto& g = *p.keys.front().guard;
        const bool all_log = std::all_of(p.keys.begin(), p.keys.end(), [](const UpdateKey& k) {
            return k.guard->config().action == config::GuardAction::log;
        });
        if (reply.failed()) {
            spdlog::warn("guard {}: the check of an {} failed: ERROR {}: {}", g.config().name,
                         p.staged_insert ? "INSERT … SELECT" : "UPDATE", reply.error_code(),
                         reply.error_message());
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
        // Also a part-of-key answer cut at group_concat_max_len: not every new key is known.
        spdlog::warn("guard {}: the check of an {} got an unexpected reply", g.config().name,
                     p.staged_insert ? "INSERT … SELECT" : "UPDATE");
        if (all_log) return pass_update(p);
        claims_.release_statement();
        g.counters().refused.fetch_add(1, std::memory_order_relaxed);
        return signal(my::error_code::not_supported_yet, "42000",
                      "uniqguard: guard \"" + g.config().name +
                          "\" could not check the statement's keys on the server (an unexpected "
                          "reply); the statement was refused");
    }
    // As the server checks its unique keys in turn, the first guard (config order) decides.
    // Logged, or dropped by the copy (a staged INSERT IGNORE … SELECT, or "ignore"): each
    // duplicate key once, as the check read it, written once the statement goes (not when the
    // check is asked again below).
    struct Logged {
        std::size_t key;
        guard::MySqlKeyText text;
    };
    std::vector<Logged> to_log;
    for (std::size_t i = 0; i < p.keys.size(); ++i) {
        if (duplicates[i].empty()) continue;
        auto& key = p.keys[i];
        auto& g = *key.guard;
        // Rows repeating a key among themselves: a unique key keeps the first the server
        // inserts, which depends on the rows the copy skips for other reasons (another unique
        // key, a foreign key, the client's primary key): the copy could not tell which.
        if (key.drop && key.repeated_inside) {
            claims_.release_statement();  // the statement does not run: writes none of its keys
            g.counters().refused.fetch_add(1, std::memory_order_relaxed);
            return signal(my::error_code::not_supported_yet, "42000",
                          mysql_unenforced_message(
                              std::string(p.insert_ignore ? "an INSERT IGNORE … SELECT"
                                                          : "an INSERT … SELECT under action "
                                                            "\"ignore\"") +
                                  " whose rows repeat a key among themselves",
                              table_of(g), g.config().name));
        }
        if (g.config().action == config::GuardAction::log || key.drop) {
            for (auto& text : duplicates[i]) to_log.push_back({i, std::move(text)});
            continue;
        }
        // Part of the key: the duplicate's parts as the check read them.
        if (!key.set.empty()) key.text = std::move(duplicates[i].front());
        g.counters().rejected.fetch_add(1, std::memory_order_relaxed);
        log_update_duplicate(p, key, guard::DuplicateAction::rejected);
        claims_.release_statement();  // the UPDATE does not run: it writes none of its keys
        return signal(my::error_code::dup_entry, "23000",
                      guard::mysql_duplicate_message(key.text, g.config().name));
    }
    // Part of a key: the matched rows' new keys, read by the check, are claimed now, as a whole
    // key is before its check. One held by another session's transaction (an INSERT of it not
    // committed yet, which the check could not see) is waited for, and the UPDATE decided
    // afresh, check included, once it is released.
    bool written_meanwhile = false;
    for (std::size_t i = 0; i < p.keys.size(); ++i) {
        auto& key = p.keys[i];
        if (key.set.empty() || key.guard->config().action == config::GuardAction::log) continue;
        // Looked up once per new key below: sorted, so a statement of many duplicate keys
        // stays n log n.
        std::sort(key.repeated.begin(), key.repeated.end());
        for (const auto f : key.learned) {
            // A key the copy drops (a row of the table holds it) is not written: not claimed,
            // so another session's write of it meets that row at once, as on a unique key.
            if (key.drop && std::binary_search(key.repeated.begin(), key.repeated.end(), f))
                continue;
            if (!claims_.claim(key.guard->claims(), f)) return held_by_another(*key.guard);
            const bool claimed_before = std::binary_search(earlier[i].begin(), earlier[i].end(), f);
            written_meanwhile =
                written_meanwhile || (!claimed_before && key.guard->keys().contains(f));
        }
    }
    // A session that wrote one of those keys may have committed and let go of it while the
    // check was on its way (the check could not see its row, the claim then found it free).
    // Every writer puts its key in the key set before it sends: a key newly claimed that is
    // not there needs no second look; one there is asked about again, the claims held, until
    // a reply brings no such key (rows that newly match the WHERE bring new keys). Past a few
    // rounds the table is changing under the check faster than it can look: refused.
    if (written_meanwhile) {
        constexpr std::size_t max_asks = 4;
        if (p.asked >= max_asks) {
            claims_.release_statement();  // the UPDATE does not run: it writes none of its keys
            auto& g = *p.keys.front().guard;
            g.counters().refused.fetch_add(1, std::memory_order_relaxed);
            return signal(my::error_code::not_supported_yet, "42000",
                          "uniqguard: guard \"" + g.config().name +
                              "\" could not check the UPDATE's new keys: the rows it matches "
                              "kept changing; the statement was refused");
        }
        // Staged: by a locking read now, which sees what was committed since the snapshot.
        if (!p.locking_check.empty()) p.check = p.locking_check;
        Step again{Step::Kind::check, p.check};
        pending_update_ = std::move(p);
        return again;
    }
    for (auto& l : to_log) {
        auto& key = p.keys[l.key];
        auto& g = *key.guard;
        if (!key.set.empty()) key.text = std::move(l.text);
        const bool logged = g.config().action == config::GuardAction::log;
        (logged ? g.counters().logged : g.counters().ignored)
            .fetch_add(1, std::memory_order_relaxed);
        log_update_duplicate(
            p, key, logged ? guard::DuplicateAction::logged : guard::DuplicateAction::ignored);
    }
    return pass_update(p);
}

MySqlGuard::Step MySqlGuard::pass_update(const PendingUpdate& p) {
    // Before the UPDATE runs, so that the key set never lacks a key the server holds.
    for (const auto& key : p.keys) {
        if (key.set.empty()) key.guard->keys().insert(key.fingerprint);
        for (const auto f : key.learned) key.guard->keys().insert(f);
        key.guard->counters().passed.fetch_add(1, std::memory_order_relaxed);
    }
    // A staged INSERT … SELECT: the stage's rows go into the table in the statement's place.
    if (!p.final_sql.empty()) return {Step::Kind::replace, p.final_sql};
    return {};
}

bool MySqlGuard::read_new_keys(UpdateKey& key, std::string_view answer,
                               std::vector<guard::MySqlKeyText>& duplicates) {
    const auto slash = answer.find('/');
    if (slash == std::string_view::npos) return false;
    std::size_t count = 0;
    for (const char c : answer.substr(0, slash)) {
        if (c < '0' || c > '9') return false;
        count = count * 10 + static_cast<std::size_t>(c - '0');
    }
    std::string_view rest = answer.substr(slash + 1);
    const auto& columns = key.guard->mysql_table()->keys;
    std::size_t read = 0;
    std::string encoded;
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        // Every key ends with '.' (mysql_update_check_sql): one without was cut.
        if (item.empty() || item.back() != '.') return false;
        item.remove_suffix(1);
        const bool repeated = !item.empty() && item[0] == '!';
        if (repeated) item.remove_prefix(1);
        if (repeated && !item.empty() && item[0] == '+') {
            key.repeated_inside = true;
            item.remove_prefix(1);
        }
        guard::MySqlKeyText parts;
        for (;;) {
            const auto colon = item.find(':');
            const auto hex = item.substr(0, colon);
            if (hex.size() % 2 != 0) return false;
            std::string bytes;
            for (std::size_t i = 0; i < hex.size(); i += 2) {
                // HEX() writes upper case.
                const auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'A' + 10; };
                bytes += static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1]));
            }
            parts.emplace_back(std::move(bytes));
            if (colon == std::string_view::npos) break;
            item.remove_prefix(colon + 1);
        }
        if (parts.size() != columns.size()) return false;
        std::vector<std::optional<std::string_view>> values(parts.begin(), parts.end());
        bool has_null = false;
        std::size_t bad = 0;
        // Keyed as the loader keys the table's rows, so the key set knows it as an INSERT of it.
        if (!columns.encode_stored_row(values, encoded, has_null, bad) || has_null) return false;
        key.learned.push_back(guard::fingerprint_encoded_key(encoded, key.guard->seed()));
        if (repeated) {
            key.repeated.push_back(key.learned.back());
            duplicates.push_back(std::move(parts));
        }
        ++read;
    }
    // Fewer keys than groups: the list was cut at group_concat_max_len.
    return read == count;
}

void MySqlGuard::log_update_duplicate(const PendingUpdate& p, const UpdateKey& key,
                                      guard::DuplicateAction action) {
    if (log_ == nullptr) return;
    const auto& g = *key.guard;
    guard::DuplicateRecord r;
    r.time = std::chrono::system_clock::now();
    r.guard = g.config().name;
    r.table = table_of(g);
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
