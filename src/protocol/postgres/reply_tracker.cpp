#include "protocol/postgres/reply_tracker.hpp"

#include "protocol/postgres/message_codes.hpp"

namespace uniqguard::protocol::postgres {

namespace {
using F = FrontendCode;
using B = BackendCode;

constexpr char code(F f) { return static_cast<char>(f); }
constexpr char code(B b) { return static_cast<char>(b); }

bool has_replies(char frontend_code) {
    switch (static_cast<F>(frontend_code)) {
        case F::query:
        case F::function_call:
        case F::parse:
        case F::bind:
        case F::close:
        case F::describe:
        case F::execute:
        case F::sync:
            return true;
        default:  // Flush, CopyData, CopyDone, CopyFail, Terminate
            return false;
    }
}

// The reply that completes an extended-protocol message (an ErrorResponse always does).
bool completes(char frontend_code, char reply) {
    switch (static_cast<F>(frontend_code)) {
        case F::parse:
            return reply == code(B::parse_complete);
        case F::bind:
            return reply == code(B::bind_complete);
        case F::close:
            return reply == code(B::close_complete);
        case F::describe:  // ParameterDescription comes first for a statement
            return reply == code(B::row_description) || reply == code(B::no_data);
        case F::execute:
            return reply == code(B::command_complete) || reply == code(B::empty_query_response) ||
                   reply == code(B::portal_suspended);
        default:
            return false;
    }
}

bool asynchronous(char reply) {
    return reply == code(B::notice_response) || reply == code(B::parameter_status) ||
           reply == code(B::notification_response);
}
}  // namespace

void ReplyTracker::sent(char frontend_code, ReplyUse use, std::uint32_t tag,
                        std::uint32_t rewrite) {
    const auto f = static_cast<F>(frontend_code);
    if (f == F::copy_done || f == F::copy_fail) {
        // The end of the client's COPY data: Syncs before it were ignored by the server (see
        // on_reply), those after it count. Kept as a marker without replies.
        copy_in_ = false;
        entries_.push_back({.code = frontend_code});
        return;
    }
    // During COPY FROM STDIN the server ignores Sync and Flush (libpq sends a Sync after the
    // Execute and another after CopyDone, and gets one ReadyForQuery).
    if (f == F::sync && copy_in_) return;
    if (!has_replies(frontend_code)) return;
    entries_.push_back(
        {.code = frontend_code, .use = use, .tag = tag, .rewrite = rewrite, .seq = sequence_++});
}

bool ReplyTracker::skipped(std::uint64_t seq) const {
    if (!skipping_) return false;
    for (std::size_t i = head_; i < entries_.size(); ++i) {
        if (entries_[i].seq >= seq && entries_[i].code != code(F::copy_done) &&
            entries_[i].code != code(F::copy_fail) && entries_[i].code != code(F::sync))
            return true;  // reached before any Sync
        if (entries_[i].code == code(F::sync)) return false;
    }
    return true;  // nothing owed up to it: answered or skipped already
}

void ReplyTracker::on_copy_in() {
    front().copying = true;
    // Syncs queued after the statement now copying and before the end of its data will get no
    // ReadyForQuery of their own.
    bool ended = false;
    std::size_t keep = head_ + 1;
    for (std::size_t i = head_ + 1; i < entries_.size(); ++i) {
        const char c = entries_[i].code;
        if (c == code(F::copy_done) || c == code(F::copy_fail)) ended = true;
        if (!ended && c == code(F::sync)) continue;  // dropped
        entries_[keep++] = entries_[i];
    }
    entries_.resize(keep);
    copy_in_ = !ended;
}

bool ReplyTracker::set_copy_use(ReplyUse use, std::uint32_t tag) {
    drop_markers();
    // The marker of the CopyDone just sent is behind the statement; skipped entries are not
    // answered any more.
    if (skipping_ || idle() || !front().copying || front().has_plan) return false;
    front().use = use;
    front().tag = tag;
    return true;
}

void ReplyTracker::drop_markers() {
    while (!idle() && (front().code == code(F::copy_done) || front().code == code(F::copy_fail)))
        pop_front();
}

void ReplyTracker::sent_query(const std::vector<ReplyUse>& plan,
                              const std::vector<std::uint32_t>& tags, std::uint32_t rewrite) {
    plans_.push_back({plan, tags, rewrite});
    entries_.push_back({.code = code(F::query), .has_plan = true, .seq = sequence_++});
}

void ReplyTracker::pop_front() {
    if (front().has_plan && ++plans_head_ == plans_.size()) {
        plans_.clear();
        plans_head_ = 0;
    }
    ++head_;
    // COPY markers have no replies of their own: gone once the statement before them is.
    while (head_ < entries_.size() && (entries_[head_].code == code(F::copy_done) ||
                                       entries_[head_].code == code(F::copy_fail)))
        ++head_;
    if (head_ == entries_.size()) {
        entries_.clear();
        head_ = 0;
        // A long pipeline may have grown it; an idle session keeps nothing.
        if (entries_.capacity() > 64) entries_.shrink_to_fit();
    }
}

ReplyDecision ReplyTracker::decide(ReplyUse use, std::uint32_t tag, char reply) const {
    const bool error = reply == code(B::error_response);
    switch (use) {
        case ReplyUse::forward:
            return {ReplyAction::forward, tag};
        case ReplyUse::drop:
            return {error ? ReplyAction::proxy_error : ReplyAction::drop, tag};
        case ReplyUse::hold:
            // Everything the write answers is held, in order: a failed statement sends none of
            // it (not even the RowDescription of a simple-query RETURNING, which the server
            // sends only once the statement has run).
            if (error) return {ReplyAction::hold_failed, tag};
            return {ReplyAction::hold, tag};
        case ReplyUse::hold_described:
            if (error) return {ReplyAction::hold_failed, tag};
            if (reply == code(B::no_data)) return {ReplyAction::drop, tag};
            return {ReplyAction::hold, tag};
        case ReplyUse::verdict:
            if (error) return {ReplyAction::verdict_failed, tag};
            if (reply == code(B::command_complete) || reply == code(B::empty_query_response))
                return {ReplyAction::verdict_passed, tag};
            return {ReplyAction::drop, tag};
        case ReplyUse::add_count:
            if (error) return {ReplyAction::proxy_error, tag};
            if (reply == code(B::command_complete)) return {ReplyAction::add_count, tag};
            return {ReplyAction::drop, tag};
        case ReplyUse::hold_update:
            if (error) return {ReplyAction::hold_failed, tag};
            if (reply == code(B::command_complete)) return {ReplyAction::hold_update, tag};
            return {ReplyAction::hold, tag};
        case ReplyUse::insert_rows:
        case ReplyUse::update_rows:
            // (Rows held before an error never reach the client: a failed INSERT sends none.)
            if (error) return {ReplyAction::hold_failed, tag};
            if (reply == code(B::row_description) || reply == code(B::data_row) ||
                reply == code(B::command_complete))
                return {use == ReplyUse::insert_rows ? ReplyAction::insert_rows
                                                     : ReplyAction::update_rows,
                        tag};
            return {ReplyAction::drop, tag};
        case ReplyUse::insert_count:
            if (error) return {ReplyAction::hold_failed, tag};
            if (reply == code(B::data_row)) return {ReplyAction::insert_count, tag};
            return {ReplyAction::drop, tag};
        case ReplyUse::capture:
            if (error) return {ReplyAction::proxy_error, tag};
            if (reply == code(B::data_row)) return {ReplyAction::capture_row, tag};
            if (reply == code(B::command_complete)) return {ReplyAction::capture_done, tag};
            return {ReplyAction::drop, tag};
    }
    return {ReplyAction::forward, tag};
}

ReplyDecision ReplyTracker::on_reply(char reply) {
    drop_markers();
    if (reply == code(B::copy_in_response) && !idle()) on_copy_in();
    if (asynchronous(reply)) {
        // Notices are forwarded (the proxy's statements write the client's literals as E''
        // strings, so they add none); one raised inside a rewritten query may point into it.
        ReplyDecision d{ReplyAction::forward, 0};
        if (reply == code(B::notice_response) && !idle() && front().has_plan)
            d.rewrite = plans_[plans_head_].rewrite;
        return d;
    }
    // After an extended-protocol error the server answers nothing up to the next Sync.
    while (skipping_ && !idle() && front().code != code(F::sync)) pop_front();
    drop_markers();
    if (idle()) return {ReplyAction::forward, 0};  // e.g. a FATAL error while idle

    Entry& e = front();
    const bool error = reply == code(B::error_response);
    switch (static_cast<F>(e.code)) {
        case F::query:
        case F::function_call: {
            if (reply == code(B::ready_for_query)) {
                const ReplyUse use = e.use;
                const std::uint32_t rewrite = e.has_plan ? plans_[plans_head_].rewrite : 0;
                pop_front();
                const bool proxys = use == ReplyUse::drop || use == ReplyUse::capture;
                return {proxys ? ReplyAction::drop : ReplyAction::forward, 0, rewrite,
                        rewrite != 0};
            }
            ReplyUse use = e.use;
            std::uint32_t tag = e.tag;
            if (e.has_plan) {
                const Plan& plan = plans_[plans_head_];
                use = e.statement < plan.uses.size() ? plan.uses[e.statement] : ReplyUse::forward;
                tag = e.statement < plan.tags.size() ? plan.tags[e.statement] : 0;
            }
            ReplyDecision d = decide(use, tag, reply);
            if (e.has_plan) d.rewrite = plans_[plans_head_].rewrite;
            if (reply == code(B::command_complete) || reply == code(B::empty_query_response))
                ++e.statement;
            return d;
        }
        case F::sync: {
            const ReplyUse use = e.use;
            if (reply == code(B::ready_for_query)) {
                skipping_ = false;
                pop_front();
            }
            // An error here is a failed commit of the implicit transaction: the client's.
            return {use == ReplyUse::forward ? ReplyAction::forward : ReplyAction::drop, 0};
        }
        default: {
            ReplyDecision d = decide(e.use, e.tag, reply);
            d.rewrite = e.rewrite;
            if (error) {
                skipping_ = true;
                pop_front();
            } else if (completes(e.code, reply)) {
                pop_front();
            }
            return d;
        }
    }
}

}  // namespace uniqguard::protocol::postgres
