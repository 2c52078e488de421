// Errors as values for the internal PostgreSQL client: every PgConnection operation returns a
// Result<T> holding either its value or an Error. Nothing in the client's API throws.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace uniqguard::pgclient {

// The fields of an ErrorResponse the callers look at (protocol "Error and Notice Message Fields").
struct ServerError {
    std::string severity;  // 'V' (never localized), else 'S': ERROR, FATAL, PANIC
    std::string sqlstate;  // 'C'
    std::string message;   // 'M'
    std::string detail;    // 'D'
    std::string hint;      // 'H'
};

struct Error {
    enum class Kind {
        connection,  // could not connect, authentication could not proceed, connection lost,
                     // or the server broke the protocol: the connection is closed
        server,      // the server answered with an ErrorResponse; `server` holds its fields
        client,      // the call itself was refused (too many parameters, not a COPY TO STDOUT,
                     // a malformed COPY row): the connection stays usable
    };
    Kind kind = Kind::connection;
    std::string message;  // connection: why; server: the 'M' field
    ServerError server;   // kind == server only

    static Error connection(std::string why) { return {Kind::connection, std::move(why), {}}; }
    static Error client(std::string why) { return {Kind::client, std::move(why), {}}; }
    static Error from_server(ServerError fields) {
        std::string message = fields.message;
        return {Kind::server, std::move(message), std::move(fields)};
    }
    bool is_server() const { return kind == Kind::server; }
    // "message", or for a server error "ERROR 42P01: message (DETAIL: ...)" without the hint.
    std::string describe() const;
};

template <typename T>
class [[nodiscard]] Result {
  public:
    // Default: an error. Asio's awaitable operators need default-constructible results.
    Result() : v_(std::in_place_index<1>, Error::connection("no result")) {}
    Result(T value)
        : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit on purpose
    Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    // Only when ok() / !ok(); checked by std::get.
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    const Error& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, Error> v_;
};

struct Done {};
using Status = Result<Done>;

}  // namespace uniqguard::pgclient
