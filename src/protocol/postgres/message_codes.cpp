#include "protocol/postgres/message_codes.hpp"

namespace uniqguard::protocol::postgres {

// One line per code: the tables read as the protocol documentation lists them.
// clang-format off

std::string_view frontend_name(char code) {
    switch (static_cast<FrontendCode>(code)) {
        case FrontendCode::bind: return "Bind";
        case FrontendCode::close: return "Close";
        case FrontendCode::copy_data: return "CopyData";
        case FrontendCode::copy_done: return "CopyDone";
        case FrontendCode::copy_fail: return "CopyFail";
        case FrontendCode::describe: return "Describe";
        case FrontendCode::execute: return "Execute";
        case FrontendCode::flush: return "Flush";
        case FrontendCode::function_call: return "FunctionCall";
        case FrontendCode::parse: return "Parse";
        case FrontendCode::password: return "PasswordMessage";
        case FrontendCode::query: return "Query";
        case FrontendCode::sync: return "Sync";
        case FrontendCode::terminate: return "Terminate";
    }
    return "unknown";
}

std::string_view backend_name(char code) {
    switch (static_cast<BackendCode>(code)) {
        case BackendCode::authentication: return "Authentication";
        case BackendCode::backend_key_data: return "BackendKeyData";
        case BackendCode::bind_complete: return "BindComplete";
        case BackendCode::close_complete: return "CloseComplete";
        case BackendCode::command_complete: return "CommandComplete";
        case BackendCode::copy_data: return "CopyData";
        case BackendCode::copy_done: return "CopyDone";
        case BackendCode::copy_in_response: return "CopyInResponse";
        case BackendCode::copy_out_response: return "CopyOutResponse";
        case BackendCode::copy_both_response: return "CopyBothResponse";
        case BackendCode::data_row: return "DataRow";
        case BackendCode::empty_query_response: return "EmptyQueryResponse";
        case BackendCode::error_response: return "ErrorResponse";
        case BackendCode::function_call_response: return "FunctionCallResponse";
        case BackendCode::negotiate_protocol_version: return "NegotiateProtocolVersion";
        case BackendCode::no_data: return "NoData";
        case BackendCode::notice_response: return "NoticeResponse";
        case BackendCode::notification_response: return "NotificationResponse";
        case BackendCode::parameter_description: return "ParameterDescription";
        case BackendCode::parameter_status: return "ParameterStatus";
        case BackendCode::parse_complete: return "ParseComplete";
        case BackendCode::portal_suspended: return "PortalSuspended";
        case BackendCode::ready_for_query: return "ReadyForQuery";
        case BackendCode::row_description: return "RowDescription";
    }
    return "unknown";
}

// clang-format on

}  // namespace uniqguard::protocol::postgres
