// MySqlGuard: the session's savepoints, followed so that a ROLLBACK TO undoes the commit record
// of only the writes after its savepoint (docs/mysql.md, "The check and REPEATABLE READ").
// Before, any text naming ROLLBACK counted the whole transaction as rolled back, so the keys
// written before the savepoint recorded no commit and another session's older snapshot
// admitted their duplicates.
//
// Savepoints set where the proxy does not read them (a string of several statements, an
// executable comment, a prepared statement, a procedure) are not followed, and need not be:
// the server only moves a savepoint later (a SAVEPOINT of a name set already) or deletes it, so
// a savepoint the proxy follows is never later than the server's of that name, and its
// ROLLBACK TO unrecords at least what the server undid (erring towards a miss, never a false
// duplicate). A ROLLBACK TO a savepoint the proxy does not know counts the whole transaction as
// rolled back, as any ROLLBACK did before.

#include "protocol/mysql/command_tracker.hpp"
#include "proxy/mysql_guard.hpp"
#include "proxy/mysql_savepoint_command.hpp"

namespace uniqguard::proxy {

namespace my = protocol::mysql;

bool MySqlGuard::note_savepoint_command(std::string_view payload) {
    if (payload.size() < 2 ||
        static_cast<my::Command>(static_cast<std::uint8_t>(payload[0])) != my::Command::query)
        return false;
    auto read = read_mysql_savepoint_command(payload.substr(1));
    if (!read) return false;
    // Its place among the claims is where it was sent: the server runs commands in order.
    const std::uint64_t mark =
        read->kind == TransactionCommand::Kind::savepoint ? claims_.new_savepoint_mark() : 0;
    savepoint_commands_.push_back({claims_.next_ready(), std::move(*read), mark});
    return true;
}

bool MySqlGuard::follow_savepoint_command(const SavepointCommand& c) {
    using K = TransactionCommand::Kind;
    switch (c.command.kind) {
        case K::savepoint:
            claims_.set_mysql_savepoint(c.command.name, c.mark);
            return true;
        case K::release:
            claims_.release_mysql_savepoint(c.command.name);
            return true;
        case K::rollback_to:
            return claims_.rollback_to_mysql_savepoint(c.command.name, c.answer);
        case K::begin:
        case K::end:
            break;
    }
    return true;
}

}  // namespace uniqguard::proxy
