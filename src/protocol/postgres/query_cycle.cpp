#include "protocol/postgres/query_cycle.hpp"

namespace uniqguard::protocol::postgres {

void QueryCycle::on_client_message(char type) {
    switch (static_cast<FrontendCode>(type)) {
        case FrontendCode::query:
        case FrontendCode::function_call:
            ++ready_owed_;
            break;
        case FrontendCode::sync:
            ++ready_owed_;
            unsynced_ = false;
            break;
        case FrontendCode::parse:
        case FrontendCode::bind:
        case FrontendCode::describe:
        case FrontendCode::execute:
        case FrontendCode::close:
        case FrontendCode::flush:
            unsynced_ = true;
            break;
        default:
            // CopyData/CopyDone/CopyFail belong to a Query or Execute already counted;
            // Terminate ends the session.
            break;
    }
}

void QueryCycle::on_ready_for_query(TransactionStatus status) {
    if (ready_owed_ > 0) --ready_owed_;
    status_ = status;
}

}  // namespace uniqguard::protocol::postgres
