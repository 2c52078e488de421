#include "protocol/postgres/reply_tracker.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace uniqguard::protocol::postgres;

namespace {
// The actions for a sequence of reply types, one per character.
std::vector<ReplyAction> replies(ReplyTracker& t, std::string types) {
    std::vector<ReplyAction> out;
    for (char c : types) out.push_back(t.on_reply(c).action);
    return out;
}
constexpr auto fwd = ReplyAction::forward;
constexpr auto drop = ReplyAction::drop;
constexpr auto hold = ReplyAction::hold;
}  // namespace

TEST_CASE("client messages alone are forwarded and the tracker ends idle", "[reply_tracker]") {
    ReplyTracker t;
    for (char c : std::string("PBDES")) t.sent(c);
    CHECK_FALSE(t.idle());
    CHECK(replies(t, "12TDDCZ") == std::vector{fwd, fwd, fwd, fwd, fwd, fwd, fwd});
    CHECK(t.idle());
}

TEST_CASE("a check after a held Execute releases the held replies when it passes",
          "[reply_tracker]") {
    ReplyTracker t;
    t.sent('P');
    t.sent('B');
    t.sent('E', ReplyUse::hold);
    t.sent('C', ReplyUse::drop);
    t.sent('P', ReplyUse::drop);
    t.sent('B', ReplyUse::drop);
    t.sent('E', ReplyUse::verdict, 7);
    t.sent('C', ReplyUse::drop);
    t.sent('C', ReplyUse::drop);
    t.sent('S');
    CHECK(replies(t, "12C") == std::vector{fwd, fwd, hold});
    CHECK(replies(t, "312") == std::vector{drop, drop, drop});
    const auto v = t.on_reply('C');
    CHECK(v.action == ReplyAction::verdict_passed);
    CHECK(v.tag == 7);
    CHECK(replies(t, "33Z") == std::vector{drop, drop, fwd});
    CHECK(t.idle());
}

TEST_CASE("a failing check skips everything up to the client's Sync", "[reply_tracker]") {
    ReplyTracker t;
    for (char c : std::string("PB")) t.sent(c);
    t.sent('E', ReplyUse::hold);
    t.sent('C', ReplyUse::drop);
    t.sent('P', ReplyUse::drop);
    t.sent('B', ReplyUse::drop);
    t.sent('E', ReplyUse::verdict, 3);
    t.sent('C', ReplyUse::drop);
    t.sent('C', ReplyUse::drop);
    for (char c : std::string("PBES")) t.sent(c);  // the client's next statement, then Sync
    CHECK(replies(t, "12C312") == std::vector{fwd, fwd, hold, drop, drop, drop});
    CHECK(t.on_reply('E').action == ReplyAction::verdict_failed);
    CHECK(t.on_reply('Z').action == fwd);
    CHECK(t.idle());
}

TEST_CASE("an error in the held write itself is the client's error", "[reply_tracker]") {
    ReplyTracker t;
    t.sent('E', ReplyUse::hold);
    t.sent('E', ReplyUse::verdict);
    t.sent('S');
    CHECK(t.on_reply('E').action == ReplyAction::hold_failed);
    CHECK(t.on_reply('Z').action == fwd);
    CHECK(t.idle());
}

TEST_CASE("a simple query's plan applies per statement", "[reply_tracker]") {
    ReplyTracker t;
    // BEGIN; INSERT ... RETURNING (held); DO (check); SELECT 1
    t.sent_query({ReplyUse::forward, ReplyUse::hold, ReplyUse::verdict}, {0, 0, 5});
    CHECK(replies(t, "C") == std::vector{fwd});  // BEGIN
    CHECK(replies(t, "TDC") ==
          std::vector{hold, hold, hold});  // RowDescription too  // RowDescription is sent first
    const auto v = t.on_reply('C');        // DO
    CHECK(v.action == ReplyAction::verdict_passed);
    CHECK(v.tag == 5);
    CHECK(replies(t, "TDCZ") == std::vector{fwd, fwd, fwd, fwd});  // SELECT 1, beyond the plan
    CHECK(t.idle());
}

TEST_CASE("asynchronous messages belong to no message", "[reply_tracker]") {
    ReplyTracker t;
    t.sent('Q', ReplyUse::capture);
    CHECK(t.on_reply('N').action == fwd);
    CHECK(t.on_reply('S').action == fwd);
    CHECK(t.on_reply('A').action == fwd);
    CHECK(t.on_reply('T').action == drop);
    CHECK(t.on_reply('D').action == ReplyAction::capture_row);
    CHECK(t.on_reply('C').action == ReplyAction::capture_done);
    CHECK(t.on_reply('Z').action == drop);
    CHECK(t.idle());
}

TEST_CASE("Flush and COPY data get no reply entry; Describe waits for its row description",
          "[reply_tracker]") {
    ReplyTracker t;
    t.sent('D');
    t.sent('H');
    t.sent('d');
    CHECK(t.pending() == 1);
    CHECK(t.on_reply('t').action == fwd);
    CHECK(t.pending() == 1);
    CHECK(t.on_reply('n').action == fwd);
    CHECK(t.idle());
}

TEST_CASE("an error while idle is forwarded", "[reply_tracker]") {
    ReplyTracker t;
    CHECK(t.on_reply('E').action == fwd);
}

TEST_CASE("Syncs sent during COPY FROM STDIN get no ReadyForQuery of their own",
          "[reply_tracker]") {
    ReplyTracker t;
    // libpq, extended protocol: P B D E S, the data, CopyDone, S; then the next query.
    for (char c : std::string("PBDES")) t.sent(c);
    CHECK(replies(t, "12nG") == std::vector{fwd, fwd, fwd, fwd});
    t.sent('d');
    t.sent('c');
    t.sent('S');
    t.sent('Q', ReplyUse::hold);
    CHECK(replies(t, "CZ") == std::vector{fwd, fwd});
    CHECK(t.pending() == 1);
    CHECK(replies(t, "CZ") == std::vector{hold, fwd});  // the next query's, not shifted
    CHECK(t.idle());

    // The CopyInResponse arriving after the client already ended its data.
    t.sent('Q');
    t.sent('d');
    t.sent('c');
    t.sent('Q');
    CHECK(replies(t, "GCZ") == std::vector{fwd, fwd, fwd});
    CHECK(replies(t, "CZ") == std::vector{fwd, fwd});
    CHECK(t.idle());
}

TEST_CASE("COPY FROM STDIN: the statement's CommandComplete is held once the guard asks",
          "[reply_tracker]") {
    ReplyTracker t;
    // The proxy's Parse/Bind of the client's COPY, its Execute and a Sync the server ignores.
    t.sent('P', ReplyUse::drop);
    t.sent('B', ReplyUse::drop);
    t.sent('E');
    t.sent('S');
    CHECK(replies(t, "12G") == std::vector{drop, drop, fwd});
    CHECK(t.set_copy_use(ReplyUse::hold));
    t.sent('c');
    t.sent('E', ReplyUse::verdict, 7);
    t.sent('S');
    CHECK(t.on_reply('C').action == hold);
    CHECK(t.on_reply('C').action == ReplyAction::verdict_passed);
    CHECK(t.on_reply('Z').action == fwd);
    CHECK(t.idle());
}

TEST_CASE("COPY FROM STDIN failed by the server: nothing is left to hold", "[reply_tracker]") {
    ReplyTracker t;
    t.sent('P', ReplyUse::drop);
    t.sent('B', ReplyUse::drop);
    t.sent('E');
    t.sent('S');
    CHECK(replies(t, "12GE") == std::vector{drop, drop, fwd, fwd});
    CHECK_FALSE(t.set_copy_use(ReplyUse::hold));
    t.sent('c');
    t.sent('S');
    CHECK(t.on_reply('Z').action == fwd);
    CHECK(t.idle());
}

TEST_CASE("COPY refused before its data: the first Sync is answered", "[reply_tracker]") {
    ReplyTracker t;
    t.sent('P', ReplyUse::drop);
    t.sent('B', ReplyUse::drop);
    t.sent('E');
    t.sent('S');
    CHECK(t.on_reply('1').action == drop);
    CHECK(t.on_reply('E').action == ReplyAction::proxy_error);
    CHECK(t.on_reply('Z').action == fwd);
    CHECK(t.idle());
}

TEST_CASE("COPY with held rows: the proxy's INSERT adds its count, or its error replaces it",
          "[reply_tracker]") {
    for (bool fails : {false, true}) {
        ReplyTracker t;
        t.sent('E');
        t.sent('S');
        CHECK(t.on_reply('G').action == fwd);
        CHECK(t.set_copy_use(ReplyUse::hold));
        t.sent('c');
        t.sent('E', ReplyUse::add_count);
        t.sent('S');
        CHECK(t.on_reply('C').action == hold);
        CHECK(t.on_reply(fails ? 'E' : 'C').action ==
              (fails ? ReplyAction::proxy_error : ReplyAction::add_count));
        CHECK(t.on_reply('Z').action == fwd);
        CHECK(t.idle());
    }
}

TEST_CASE("skipped: a message after an error and before any Sync gets no reply",
          "[reply_tracker]") {
    ReplyTracker t;
    // The client's Parse/Bind/Execute, Sync; then the proxy's late INSERT's messages, no Sync.
    for (char c : std::string("PBES")) t.sent(c);
    const auto first_late = t.next_sequence();
    for (char c : std::string("PBE")) t.sent(c, ReplyUse::drop);
    const auto last_late = t.next_sequence() - 1;
    CHECK_FALSE(t.skipped(last_late));
    // The client's Parse fails: the server skips to the client's Sync, which comes before the
    // proxy's messages, so these are answered afterwards.
    CHECK(replies(t, "E") == std::vector{fwd});
    CHECK_FALSE(t.skipped(first_late));
    CHECK_FALSE(t.skipped(last_late));
    CHECK(replies(t, "Z") == std::vector{fwd});
    // Now the proxy's own Parse fails: its Bind and Execute are skipped (no Sync after them).
    CHECK(replies(t, "E") == std::vector{ReplyAction::proxy_error});
    CHECK(t.skipped(last_late));

    // An error in a message before the late ones, with no Sync between: they are skipped.
    ReplyTracker u;
    for (char c : std::string("PBE")) u.sent(c);
    const auto late = u.next_sequence();
    for (char c : std::string("PBE")) u.sent(c, ReplyUse::drop);
    CHECK(replies(u, "1") == std::vector{fwd});
    CHECK_FALSE(u.skipped(late + 2));
    CHECK(replies(u, "E") == std::vector{fwd});  // the client's Bind
    CHECK(u.skipped(late + 2));
}

TEST_CASE("a late UPDATE's wrapper: its CommandComplete alone is retagged, its rows kept",
          "[reply_tracker]") {
    ReplyTracker t;
    t.sent('P', ReplyUse::drop);
    t.sent('B', ReplyUse::drop);
    t.sent('E', ReplyUse::hold_update);
    t.sent('P', ReplyUse::drop);
    t.sent('B', ReplyUse::drop);
    t.sent('E', ReplyUse::update_rows, 2);
    t.sent('S');
    CHECK(replies(t, "12") == std::vector{drop, drop});
    CHECK(replies(t, "DC") == std::vector{hold, ReplyAction::hold_update});
    CHECK(replies(t, "12") == std::vector{drop, drop});
    const auto rows = t.on_reply('T');
    CHECK(rows.action == ReplyAction::update_rows);
    CHECK(rows.tag == 2);
    CHECK(replies(t, "DC") == std::vector{ReplyAction::update_rows, ReplyAction::update_rows});
    CHECK(replies(t, "Z") == std::vector{fwd});
    CHECK(t.idle());
}

TEST_CASE("a late UPDATE that fails on its own: its error is the client's", "[reply_tracker]") {
    ReplyTracker t;
    t.sent('P', ReplyUse::drop);
    t.sent('B', ReplyUse::drop);
    t.sent('E', ReplyUse::hold_update);
    t.sent('S');
    CHECK(replies(t, "12E") == std::vector{drop, drop, ReplyAction::hold_failed});
    CHECK(replies(t, "Z") == std::vector{fwd});
}

TEST_CASE(
    "the proxy's Describe of a statement run as written: a RowDescription held, NoData "
    "dropped",
    "[reply_tracker]") {
    for (const char describe_reply : {'T', 'n'}) {
        ReplyTracker t;
        t.sent('P', ReplyUse::drop);
        t.sent('B', ReplyUse::drop);
        t.sent('D', ReplyUse::hold_described);
        t.sent('E', ReplyUse::hold);
        t.sent('S');
        CHECK(replies(t, "12") == std::vector{drop, drop});
        CHECK(t.on_reply(describe_reply).action == (describe_reply == 'T' ? hold : drop));
        CHECK(replies(t, "DC") == std::vector{hold, hold});
        CHECK(replies(t, "Z") == std::vector{fwd});
        CHECK(t.idle());
    }
    // An error of the statement: nothing of it was held for the client.
    ReplyTracker t;
    t.sent('P', ReplyUse::drop);
    t.sent('B', ReplyUse::drop);
    t.sent('D', ReplyUse::hold_described);
    t.sent('E', ReplyUse::hold);
    t.sent('S');
    CHECK(replies(t, "12") == std::vector{drop, drop});
    CHECK(t.on_reply('E').action == ReplyAction::hold_failed);
}
