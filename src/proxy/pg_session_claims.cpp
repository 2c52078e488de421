#include "proxy/pg_session_claims.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>

namespace uniqguard::proxy {

namespace pg = protocol::postgres;

namespace {

class Words {
  public:
    explicit Words(std::string_view sql) : s_(sql) {}

    // The next word, lower-cased (ASCII letters, digits, '_', '$'), or an identifier: quoted
    // ones kept as written ("" inside is one quote), unquoted ones lower-cased as the server
    // folds them. Empty at the end or at anything else.
    std::string next() {
        skip_space();
        std::string word;
        if (i_ < s_.size() && s_[i_] == '"') {
            for (++i_; i_ < s_.size(); ++i_) {
                if (s_[i_] == '"') {
                    if (i_ + 1 < s_.size() && s_[i_ + 1] == '"') {
                        word += '"';
                        ++i_;
                        continue;
                    }
                    ++i_;
                    return word;  // empty: not a name the server takes
                }
                word += s_[i_];
            }
            return {};  // unterminated: the server refuses it
        }
        while (i_ < s_.size()) {
            const char c = s_[i_];
            const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                                static_cast<unsigned char>(c) >= 0x80;
            const bool digit = (c >= '0' && c <= '9') || c == '$';
            if (!letter && !(digit && !word.empty())) break;
            word += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
            ++i_;
        }
        return word;
    }

  private:
    void skip_space() {
        while (i_ < s_.size()) {
            const char c = s_[i_];
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
                ++i_;
            } else if (s_.substr(i_, 2) == "--") {
                const auto end = s_.find('\n', i_);
                i_ = end == std::string_view::npos ? s_.size() : end + 1;
            } else if (s_.substr(i_, 2) == "/*") {
                // Nested, as the server's lexer reads them.
                int depth = 0;
                while (i_ < s_.size()) {
                    if (s_.substr(i_, 2) == "/*") {
                        ++depth;
                        i_ += 2;
                    } else if (s_.substr(i_, 2) == "*/") {
                        i_ += 2;
                        if (--depth == 0) break;
                    } else {
                        ++i_;
                    }
                }
            } else {
                break;
            }
        }
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

}  // namespace

std::optional<TransactionCommand> read_transaction_command(std::string_view sql) {
    using K = TransactionCommand::Kind;
    // Every Query of a guarded session comes here: most start with a letter no transaction
    // command starts with (INSERT, UPDATE, WITH …), and leave at once.
    const auto first_char = sql.find_first_not_of(" \t\n\r\f\v");
    if (first_char == std::string_view::npos ||
        std::string_view("bBsScCeEaArR/-").find(sql[first_char]) == std::string_view::npos)
        return std::nullopt;
    Words words(sql);
    const std::string first = words.next();
    if (first == "begin" || first == "start") return TransactionCommand{K::begin, {}};
    // [WORK | TRANSACTION] [AND [NO] CHAIN] after an end.
    auto chains = [&](std::string word) {
        if (word == "work" || word == "transaction") word = words.next();
        return word == "and" && words.next() == "chain";
    };
    if (first == "commit" || first == "end" || first == "abort") {
        auto word = words.next();
        if (first == "commit" && word == "prepared") return std::nullopt;
        return TransactionCommand{K::end, {}, chains(std::move(word))};
    }
    if (first == "savepoint") {
        auto name = words.next();
        if (name.empty()) return std::nullopt;
        return TransactionCommand{K::savepoint, std::move(name)};
    }
    if (first == "release") {
        auto name = words.next();
        if (name == "savepoint") name = words.next();
        if (name.empty()) return std::nullopt;
        return TransactionCommand{K::release, std::move(name)};
    }
    if (first == "rollback") {
        auto word = words.next();
        if (word == "prepared") return std::nullopt;
        if (word == "work" || word == "transaction") word = words.next();
        if (word != "to") return TransactionCommand{K::end, {}, chains(std::move(word))};
        auto name = words.next();
        if (name == "savepoint") name = words.next();
        if (name.empty()) return std::nullopt;
        return TransactionCommand{K::rollback_to, std::move(name)};
    }
    return std::nullopt;
}

std::uint64_t new_claim_owner() {
    static std::atomic<std::uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
}

SessionClaims::SessionClaims(std::uint64_t owner, std::shared_ptr<guard::ClaimWaiter> waiter)
    : owner_(owner), waiter_(std::move(waiter)) {}

bool SessionClaims::claim(guard::KeyClaims& table, std::uint64_t fp, std::uint64_t ready,
                          bool records_commit) {
    if (ready == 0) ready = requested_ + 1;
    if (held_.size() >= max_held) {
        // A transaction writing more keys than that (a large COPY, a bulk load) stops claiming
        // new ones: each costs about 80 bytes while it lasts. It still waits for keys other
        // sessions hold; other sessions no longer wait for its later keys (docs/guard.md).
        const std::uint64_t holder = table.holder(fp);
        if (holder != 0 && holder != owner_) {
            wanted_ = {&table, fp};
            return false;
        }
        if (!over_limit_logged_) {
            over_limit_logged_ = true;
            spdlog::warn(
                "a transaction wrote more than {} guarded keys: its later keys are not "
                "claimed, so concurrent writes of the same keys do not wait for it",
                max_held);
        }
        return true;
    }
    switch (table.claim(fp, owner_, waiter_)) {
        case guard::KeyClaims::Claim::taken:
            held_.push_back({&table, fp, savepoint_marks_, ready, statement_, records_commit,
                             records_commit ? ready : 0, records_commit ? ready : 0,
                             !records_commit});
            return true;
        case guard::KeyClaims::Claim::already_ours:
            // Written again: held at least as long as this write's step and level need.
            for (auto& h : held_) {
                if (h.fp != fp || h.table != &table) continue;
                h.ready = std::max(h.ready, ready);
                h.after = std::min(h.after, savepoint_marks_);
                if (!records_commit) {
                    h.unrecorded_writer = true;
                    continue;
                }
                if (!h.records_commit) {
                    h.records_commit = true;
                    h.first_recorder = ready;
                }
                h.last_recorder = std::max(h.last_recorder, ready);
            }
            return true;
        case guard::KeyClaims::Claim::held:
            wanted_ = {&table, fp};
            return false;
    }
    return false;
}

template <class Pred>
void SessionClaims::release_if(Pred free, std::uint64_t committed) {
    std::erase_if(held_, [&](const Held& h) {
        if (!free(h)) return false;
        h.table->release(h.fp, owner_, h.records_commit ? committed : 0);
        return true;
    });
}

std::optional<std::size_t> SessionClaims::find_savepoint(const std::string& name) const {
    for (std::size_t i = savepoints_.size(); i-- > 0;)
        if (savepoints_[i].name == name) return i;
    return std::nullopt;
}

void SessionClaims::on_transaction_command(const TransactionCommand& command) {
    using K = TransactionCommand::Kind;
    switch (command.kind) {
        case K::begin:
        case K::end:
            // A new block has no savepoints; the keys wait for the ReadyForQuery that ends it.
            savepoints_.clear();
            break;
        case K::savepoint:
            // PostgreSQL keeps an older savepoint of the same name (the innermost one wins).
            savepoints_.push_back({command.name, new_savepoint_mark()});
            break;
        case K::release:
            // Its keys (and those of the savepoints inside it) now belong to the level that
            // encloses it: a rollback to an outer savepoint frees them too.
            if (auto at = find_savepoint(command.name)) savepoints_.resize(*at);
            break;
        case K::rollback_to:
            if (auto at = find_savepoint(command.name)) {
                // The savepoint stays; what was written after it is undone. Freed now rather
                // than at the server's reply: a session that then checks its key against the
                // server either sees the row gone or, still uncommitted, not at all.
                savepoints_.resize(*at + 1);
                const std::uint64_t mark = savepoints_[*at].mark;
                release_if([&](const Held& h) { return h.after >= mark; });
            }
            break;
    }
}

void SessionClaims::set_mysql_savepoint(std::string name, std::uint64_t mark) {
    // InnoDB deletes a savepoint of the same name and sets the new one innermost; those set
    // between stay.
    if (auto at = find_savepoint(name)) savepoints_.erase(savepoints_.begin() + *at);
    savepoints_.push_back({std::move(name), mark});
}

bool SessionClaims::rollback_to_mysql_savepoint(const std::string& name, std::uint64_t answer) {
    const auto at = find_savepoint(name);
    if (!at) return false;
    savepoints_.resize(*at + 1);
    const std::uint64_t mark = savepoints_[*at].mark;
    for (auto& h : held_) {
        if (h.after < mark || h.after == not_written) continue;
        if (h.ready >= answer) {
            // Claimed again by a command sent after the ROLLBACK TO (pipelined): only a record
            // of such a command stands. The earliest of them is not kept; answer + 1 is a
            // bound, so that unrecord() forgets the record when that next command alone made
            // it and fails (a review found the undone INSERT's record kept by a failing
            // INSERT sent right after), and keeps it otherwise, erring towards the duplicate.
            if (h.last_recorder > answer) {
                h.first_recorder = std::max(h.first_recorder, answer + 1);
            } else {
                h.records_commit = false;
                h.first_recorder = h.last_recorder = 0;
            }
            continue;
        }
        h.after = not_written;
        h.records_commit = false;
        h.first_recorder = h.last_recorder = 0;
        h.unrecorded_writer = false;
    }
    return true;
}

bool SessionClaims::release_mysql_savepoint(const std::string& name) {
    const auto at = find_savepoint(name);
    if (!at) return false;
    savepoints_.resize(*at);
    return true;
}

void SessionClaims::on_ready_for_query(pg::TransactionStatus status, bool nothing_owed,
                                       bool committed) {
    ++answered_;
    if (nothing_owed) answered_ = requested_;  // COPY's ignored Syncs: counted again from here
    const std::uint64_t answered = answered_;
    switch (status) {
        case pg::TransactionStatus::idle: {
            // Every claim of a message answered so far; not those of a message being decided
            // now (claimed, not sent yet: its ReadyForQuery is still to come).
            if (nothing_owed) savepoints_.clear();
            end_transactions([&](const Held& h) { return h.ready <= answered; }, answered,
                             committed);
            break;
        }
        case pg::TransactionStatus::failed:
            if (savepoints_.empty()) {
                release_if([&](const Held& h) { return h.ready <= answered; });
            } else {
                const std::uint64_t mark = savepoints_.back().mark;
                release_if([&](const Held& h) { return h.ready <= answered && h.after >= mark; });
            }
            break;
        case pg::TransactionStatus::in_block:
            break;
    }
}

void SessionClaims::end_transaction_before(std::uint64_t ready, bool committed) {
    savepoints_.clear();
    end_transactions([&](const Held& h) { return h.ready < ready; }, ready - 1, committed);
}

template <class Pred>
void SessionClaims::end_transactions(Pred ended, std::uint64_t last_ended, bool committed) {
    // A key a message sent after the end claimed again (pipelined: `COMMIT; INSERT …` sent
    // together) stays held for that message, but a record made before the end is this end's:
    // committed now, or void (a review found the commit lost when the later INSERT then failed
    // or its transaction rolled back: a duplicate admitted in an older snapshot).
    auto spans = [&](const Held& h) {
        return !ended(h) && h.records_commit && h.first_recorder <= last_ended;
    };
    // One tick for the keys this end commits (none held: no tick).
    const bool any = committed && std::any_of(held_.begin(), held_.end(), [&](const Held& h) {
                         return h.records_commit && (ended(h) || spans(h));
                     });
    const std::uint64_t tick = any ? guard::commit_clock().fetch_add(1) + 1 : 0;
    for (auto& h : held_) {
        if (!spans(h)) continue;
        if (tick != 0) h.table->record_commit(h.fp, owner_, tick);
        // Only a record a later message made stands for the later transaction.
        if (h.last_recorder > last_ended) {
            h.first_recorder = last_ended + 1;
        } else {
            h.records_commit = false;
            h.first_recorder = h.last_recorder = 0;
        }
    }
    release_if(ended, tick);
}

void SessionClaims::release_statement() {
    release_if([&](const Held& h) { return h.statement == statement_; });
}

void SessionClaims::unrecord(std::uint64_t ready) {
    for (auto& h : held_)
        if (h.records_commit && !h.unrecorded_writer && h.first_recorder == ready &&
            h.last_recorder == ready) {
            h.records_commit = false;
            h.first_recorder = h.last_recorder = 0;
        }
}

void SessionClaims::release_statement_key(const guard::KeyClaims& table, std::uint64_t fp) {
    release_if([&](const Held& h) {
        return h.statement == statement_ && h.fp == fp && h.table == &table;
    });
}

void SessionClaims::release_all() {
    for (const auto& h : held_) h.table->release(h.fp, owner_);
    held_.clear();
}

}  // namespace uniqguard::proxy
