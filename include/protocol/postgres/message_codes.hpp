// Named PostgreSQL protocol 3.0 message codes (the type byte of each message), as PgBouncer's
// PqMsg_* names do: dispatch and logs read as words, not as bare characters.
#pragma once

#include <cstdint>
#include <string_view>

namespace uniqguard::protocol::postgres {

// Messages the client (frontend) sends after the startup phase.
enum class FrontendCode : char {
    bind = 'B',
    close = 'C',
    copy_data = 'd',
    copy_done = 'c',
    copy_fail = 'f',
    describe = 'D',
    execute = 'E',
    flush = 'H',
    function_call = 'F',
    parse = 'P',
    // 'p' carries PasswordMessage, SASLInitialResponse and SASLResponse alike.
    password = 'p',
    query = 'Q',
    sync = 'S',
    terminate = 'X',
};

// Messages the server (backend) sends.
enum class BackendCode : char {
    authentication = 'R',
    backend_key_data = 'K',
    bind_complete = '2',
    close_complete = '3',
    command_complete = 'C',
    copy_data = 'd',
    copy_done = 'c',
    copy_in_response = 'G',
    copy_out_response = 'H',
    copy_both_response = 'W',
    data_row = 'D',
    empty_query_response = 'I',
    error_response = 'E',
    function_call_response = 'V',
    negotiate_protocol_version = 'v',
    no_data = 'n',
    notice_response = 'N',
    notification_response = 'A',
    parameter_description = 't',
    parameter_status = 'S',
    parse_complete = '1',
    portal_suspended = 's',
    ready_for_query = 'Z',
    row_description = 'T',
};

// Codes of the untyped startup-phase packets (the int32 after the length).
namespace startup_code {
inline constexpr std::uint32_t protocol_3_0 = 196608;  // 3 << 16
inline constexpr std::uint32_t cancel_request = 80877102;
inline constexpr std::uint32_t ssl_request = 80877103;
inline constexpr std::uint32_t gssenc_request = 80877104;
}  // namespace startup_code

// Sub-codes of an Authentication ('R') message.
namespace auth_code {
inline constexpr std::uint32_t ok = 0;
inline constexpr std::uint32_t kerberos_v5 = 2;
inline constexpr std::uint32_t cleartext_password = 3;
inline constexpr std::uint32_t md5_password = 5;
inline constexpr std::uint32_t gss = 7;
inline constexpr std::uint32_t gss_continue = 8;
inline constexpr std::uint32_t sspi = 9;
inline constexpr std::uint32_t sasl = 10;
inline constexpr std::uint32_t sasl_continue = 11;
inline constexpr std::uint32_t sasl_final = 12;
}  // namespace auth_code

// Transaction status carried by ReadyForQuery.
enum class TransactionStatus : char { idle = 'I', in_block = 'T', failed = 'E' };

std::string_view frontend_name(char code);
std::string_view backend_name(char code);

}  // namespace uniqguard::protocol::postgres
