// Whether a client's statement text may change a session setting the guard reads values under:
// standard_conforming_strings, client_encoding, TimeZone, DateStyle. The proxy learns their
// values from the server's ParameterStatus, which comes only with the ReadyForQuery after the
// change; a guarded write the client sends before that (in the same query string, or pipelined
// before the Sync that ends the change) would be read under the old values. So such a write is
// refused until the change is confirmed (PgGuard), and this test finds the changes: SET, RESET
// and SET LOCAL of those settings (SET TIME ZONE, SET NAMES included), RESET ALL, DISCARD ALL,
// a call of set_config() naming one of them (or a name not written as a literal), a DO block
// that names one of them, and, after such a change in a transaction, its end (may_end_transaction).
// A function of the application's that sets one inside is not seen.
#pragma once

#include <string_view>

namespace uniqguard::proxy {

bool may_change_read_settings(std::string_view sql);

// Whether a statement of `sql` ends the transaction or rolls part of it back (COMMIT, END,
// ROLLBACK [TO], ABORT, PREPARE TRANSACTION): the server then puts back a SET LOCAL, and a
// rollback a SET, of the transaction. A change for the guard once the transaction changed one.
bool may_end_transaction(std::string_view sql);

}  // namespace uniqguard::proxy
