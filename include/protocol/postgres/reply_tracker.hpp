// Matches the server's replies to the messages that were sent to it, so that the session knows,
// for every reply, whose message it answers and what to do with it: the guard sends messages of
// its own into the client's server session (checks of suspected duplicates), and their replies
// must never reach the client, while the client's replies must reach it unchanged and in order.
//
// Sans-io: the client pump calls `sent()` for each message it writes to the server, in order; the
// server pump calls `on_reply()` with each reply's type as its header arrives. The rules are the
// server's (PostgresMain):
//   - Query and FunctionCall are answered by a sequence ending in ReadyForQuery.
//   - Parse, Bind, Close, Describe, Execute are answered by one terminal message each
//   (ParseComplete,
//     BindComplete, CloseComplete, RowDescription/NoData, CommandComplete/EmptyQueryResponse/
//     PortalSuspended), or by an ErrorResponse, after which the server ignores every message up to
//     the next Sync: those get no reply at all.
//   - Sync is answered by ReadyForQuery (possibly preceded by an ErrorResponse of a failed commit).
//   - Flush, CopyData, CopyDone, CopyFail get no reply of their own.
//   - NoticeResponse, ParameterStatus and NotificationResponse may come at any time and belong to
//     no message.
// A simple Query may carry a per-statement plan: its statements' replies are told apart by their
// CommandComplete (every statement of a simple query ends with exactly one, or with the error that
// ends the whole string).
#pragma once

#include <cstdint>
#include <vector>

namespace uniqguard::protocol::postgres {

// What the session wants done with the replies to one message (or one statement of a Query).
enum class ReplyUse : std::uint8_t {
    forward,  // the client's own message: replies go to the client as they are
    drop,     // a message of the proxy: its replies are discarded (an error is still reported)
    hold,     // the client's write under check: DataRow/CommandComplete kept until the verdict
    verdict,  // the proxy's check: success releases the held replies; an error replaces them
    capture,  // the proxy's query: its rows are handed to the session, nothing is forwarded
    // the proxy's INSERT of rows a COPY held back: its row count is added to the held COPY's
    // CommandComplete, which is then released; an error replaces what is held
    add_count,
    // the proxy's statement in place of the client's INSERT (an upsert): its one row is the
    // count the client gets as `INSERT 0 n`; its error is the client's
    insert_count,
    // ...with RETURNING: its rows are the client's but for their last columns (removed: as
    // many as the message's tag says), and its `SELECT n` is the client's `INSERT 0 n`; all
    // held until the check after it
    insert_rows,
    // a late UPDATE (an UPDATE wrapped as a late INSERT is): as hold, its `INSERT 0 n` held as
    // the client's `UPDATE n`; with RETURNING as insert_rows, the tag `UPDATE n`
    hold_update,
    update_rows,
    // the proxy's Describe of the client's statement run as written for a simple Query (a
    // scanned write): its RowDescription held as hold's; a NoData (no rows: a simple Query has
    // no such message) dropped
    hold_described,
};

enum class ReplyAction : std::uint8_t {
    forward,         // send to the client
    drop,            // discard
    hold,            // keep (whole message) until the verdict
    verdict_passed,  // discard this message; send what is held
    verdict_failed,  // discard what is held (but RowDescription); send this error, cleaned
    capture_row,     // hand the DataRow to the session
    capture_done,    // the captured query's CommandComplete (discarded)
    proxy_error,     // an error answering a message of the proxy: discard held; send the error
    hold_failed,     // the held write failed on its own: discard what is held; send the error
    add_count,       // add this CommandComplete's count to the held one's, send what is held
    insert_count,    // the DataRow of an insert_count statement: send `INSERT 0 n` for it
    insert_rows,     // RowDescription/DataRow/CommandComplete of an insert_rows statement
    hold_update,     // the CommandComplete of a hold_update statement: held as `UPDATE n`
    update_rows,     // as insert_rows, for an update_rows statement
};

struct ReplyDecision {
    ReplyAction action = ReplyAction::forward;
    std::uint32_t tag = 0;  // the tag given with the message (0 for the client's)
    // A reply to a simple Query the proxy rewrote: the rewrite's id (0: none). Positions in its
    // errors count in the rewritten text and must be moved back to the client's.
    std::uint32_t rewrite = 0;
    bool ends_rewrite = false;  // the ReadyForQuery that ends that Query
};

class ReplyTracker {
  public:
    // A message written to the server. Messages without replies of their own (Flush, CopyData,
    // CopyDone, CopyFail, Terminate) may be passed too: they are ignored.
    // `rewrite`: the message carries a text the proxy rewrote (errors' positions move back).
    void sent(char frontend_code, ReplyUse use = ReplyUse::forward, std::uint32_t tag = 0,
              std::uint32_t rewrite = 0);
    // A simple Query whose statements' replies are used differently; statements beyond the plan
    // are forwarded. Tags are per statement.
    void sent_query(const std::vector<ReplyUse>& plan, const std::vector<std::uint32_t>& tags,
                    std::uint32_t rewrite = 0);

    ReplyDecision on_reply(char backend_code);

    // The statement whose COPY FROM STDIN the client has just ended: its remaining replies
    // (CommandComplete) are used as `use` from now on (the guard learns only at CopyDone
    // whether rows need a check). False when no reply of that statement is still due (the
    // server failed the COPY already).
    bool set_copy_use(ReplyUse use, std::uint32_t tag = 0);

    // The number of messages with replies sent so far: the next one's sequence number.
    std::uint64_t next_sequence() const { return sequence_; }
    // Whether the message with sequence number `seq` (still owed) gets no reply: an error has
    // made the server skip to the next Sync, and no Sync comes before that message. A message
    // already answered or skipped gives true too, unless `seq` is not yet sent.
    bool skipped(std::uint64_t seq) const;

    // Nothing owed: every message sent has had its replies.
    bool idle() const { return head_ == entries_.size(); }
    std::size_t pending() const { return entries_.size() - head_; }

  private:
    struct Entry {
        char code = 0;
        ReplyUse use = ReplyUse::forward;
        std::uint32_t tag = 0;
        bool has_plan = false;        // Query: its plan is the next one in plans_
        std::uint32_t statement = 0;  // Query: statements completed so far
        bool copying = false;         // its CopyInResponse has come
        std::uint32_t rewrite = 0;    // extended protocol: see sent()
        std::uint64_t seq = 0;        // see next_sequence()
    };
    struct Plan {
        std::vector<ReplyUse> uses;
        std::vector<std::uint32_t> tags;
        std::uint32_t rewrite = 0;
    };

    ReplyDecision decide(ReplyUse use, std::uint32_t tag, char backend_code) const;
    Entry& front() { return entries_[head_]; }
    void on_copy_in();
    void drop_markers();
    void pop_front();

    // FIFO queues as vectors with a head index, emptied whenever they drain: an idle session's
    // tracker holds no allocation (a std::deque allocates on construction).
    std::vector<Entry> entries_;
    std::size_t head_ = 0;
    std::vector<Plan> plans_;  // plans of the Query entries that have one, in order
    std::size_t plans_head_ = 0;
    bool skipping_ = false;  // an extended-protocol error: no replies until Sync
    std::uint64_t sequence_ = 0;
    bool copy_in_ = false;  // the server is reading COPY data the client has not ended yet
};

}  // namespace uniqguard::protocol::postgres
