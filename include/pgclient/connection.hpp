// The proxy's own PostgreSQL connection: the account of [backend] (or the tools' --user) that
// loads key sets, reads the catalog and confirms suspected duplicates. A small asynchronous
// client over the sans-io pieces in pgclient/messages.hpp and pgclient/scram.hpp.
//
// Use from one coroutine at a time (one operation in flight per connection), on one executor:
//   PgConnection conn;
//   if (auto st = co_await conn.connect(backend, tls); !st) ... st.error().describe();
//   auto r = co_await conn.query_params("SELECT relname FROM pg_class WHERE oid = $1", {"1259"});
//   auto n = co_await conn.copy_out("COPY t (a, b) TO STDOUT", [&](const Row& row) { ... });
//   co_await conn.close();
//
// Errors are values (Result<T>); nothing throws across this API. A server error (Error::server)
// leaves the connection usable: the client has read up to ReadyForQuery. A connection error
// (Error::connection) closes it; later calls fail at once. The password and the
// authentication messages are never logged.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "pgclient/messages.hpp"
#include "pgclient/result.hpp"
#include "protocol/postgres/message_codes.hpp"
#include "proxy/stream.hpp"
#include "util/byte_buffer.hpp"

namespace uniqguard::pgclient {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;

// One result of a statement: its rows as text and its command tag.
struct QueryResult {
    std::vector<std::string> columns;  // from RowDescription; empty for commands without rows
    std::vector<Row> rows;
    std::string command_tag;  // "SELECT 3", "INSERT 0 1"; empty for an empty query
};

// Called once per COPY row; the row is reused for the next one (copy what you keep).
using CopyRowHandler = std::function<void(const Row&)>;

class PgConnection {
  public:
    // Longest wait for the whole startup (connect, TLS, authentication, ReadyForQuery).
    static constexpr std::chrono::seconds startup_timeout{30};
    // Largest server message accepted (the server's own limit for one value is 1 GB).
    static constexpr std::uint64_t max_message_bytes = (std::uint64_t{1} << 30) + 1024 * 1024;
    // The application_name the server shows for these connections.
    static constexpr std::string_view application_name = "uniqguard";

    PgConnection();
    ~PgConnection();
    PgConnection(const PgConnection&) = delete;
    PgConnection& operator=(const PgConnection&) = delete;

    // Connects to backend.address with backend.tls, logs in as backend.user with
    // backend.password to backend.database (trust, cleartext, md5 or SCRAM-SHA-256), and reads
    // up to the first ReadyForQuery. `tls` must outlive the connection. Any error here (a
    // wrong password is Error::server 28P01) leaves the connection closed.
    asio::awaitable<Status> connect(const config::Backend& backend, ssl::context& tls);

    // Simple protocol: one or more statements; one QueryResult per statement. The first
    // ErrorResponse makes the whole call an Error::server (later statements do not run).
    asio::awaitable<Result<std::vector<QueryResult>>> simple_query(std::string_view sql);

    // Extended protocol (Parse/Bind/Describe/Execute/Sync, unnamed statement and portal): one
    // statement with $1..$n bound as text (nullopt = NULL); the server infers their types.
    asio::awaitable<Result<QueryResult>> query_params(
        std::string_view sql, const std::vector<std::optional<std::string>>& params);

    // Runs `COPY ... TO STDOUT` (text format) and hands each row to `on_row` as it arrives,
    // never holding more than one server message: made for key sets of millions of rows.
    // Returns the number of rows; on an error, the rows already handed over stay handed over.
    // `on_row` must not throw (if it does, the connection is closed
    // and the exception propagates).
    asio::awaitable<Result<std::uint64_t>> copy_out(std::string_view sql,
                                                    const CopyRowHandler& on_row);

    // Sends Terminate and closes the socket. Safe to call more than once.
    asio::awaitable<void> close();

    bool is_open() const { return stream_ != nullptr; }
    // Last ParameterStatus of that name ("server_version", "TimeZone", ...); "" if none.
    std::string_view parameter(std::string_view name) const;
    protocol::postgres::TransactionStatus transaction_status() const { return tx_status_; }
    // BackendKeyData, for a CancelRequest.
    std::uint32_t backend_pid() const { return backend_pid_; }
    std::uint32_t backend_secret() const { return backend_secret_; }

  private:
    struct Message {
        char type = 0;
        util::Bytes body;  // valid until the next read_message()
    };

    asio::awaitable<Status> startup(const config::Backend& backend, ssl::context& tls);
    asio::awaitable<Status> authenticate(const config::Backend& backend);
    asio::awaitable<Result<Message>> read_message();
    asio::awaitable<Status> write(const std::string& bytes);
    // Handles messages that may come at any time (ParameterStatus, NoticeResponse,
    // NotificationResponse); true when `m` was one of them.
    bool handle_asynchronous(const Message& m);

    // What a query method did with one reply message (see read_replies_until_ready).
    struct ReplyUse {
        bool handled = true;
        std::string malformed;  // non-empty: the message was broken; the connection is dropped
    };
    using ReplyHandler = std::function<ReplyUse(const Message&)>;
    static ReplyUse malformed(std::string message_name);
    // The reply loop every query method shares: hands each message to `handle` first; the rest
    // (ErrorResponse, CopyInResponse, ReadyForQuery, asynchronous messages) is handled here the
    // same way for all. The first server error is kept in `error` (it replaces a client-side
    // one) and returned at ReadyForQuery. `after` names the request in messages ("a Query").
    asio::awaitable<Status> read_replies_until_ready(std::string_view after,
                                                     const ReplyHandler& handle,
                                                     std::optional<Error>& error);
    Error fail(std::string why);  // closes and makes a connection error
    Status not_open() const;

    std::unique_ptr<proxy::Stream> stream_;
    util::ByteBuffer buffer_;
    std::size_t pending_consume_ = 0;
    std::map<std::string, std::string, std::less<>> parameters_;
    protocol::postgres::TransactionStatus tx_status_ = protocol::postgres::TransactionStatus::idle;
    std::uint32_t backend_pid_ = 0;
    std::uint32_t backend_secret_ = 0;
    std::string lost_;  // why the connection closed, for later calls
};

}  // namespace uniqguard::pgclient
