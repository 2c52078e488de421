// Knows, from the messages passing in both directions, whether the server owes the client an
// answer. A session is idle (nothing in flight) when every Query, Sync and FunctionCall it
// forwarded has had its ReadyForQuery and no extended-protocol message waits for a Sync.
// Graceful shutdown closes idle sessions at once and lets the others finish their statement.
#pragma once

#include "protocol/postgres/message_codes.hpp"

namespace uniqguard::protocol::postgres {

class QueryCycle {
  public:
    void on_client_message(char type);
    void on_ready_for_query(TransactionStatus status);

    bool idle() const { return ready_owed_ == 0 && !unsynced_; }
    TransactionStatus transaction_status() const { return status_; }
    unsigned ready_owed() const { return ready_owed_; }

  private:
    unsigned ready_owed_ = 0;
    bool unsynced_ = false;  // Parse/Bind/... sent since the last Sync
    TransactionStatus status_ = TransactionStatus::idle;
};

}  // namespace uniqguard::protocol::postgres
