#include "pgclient/connection.hpp"

#include <algorithm>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include "pgclient/scram.hpp"
#include "protocol/postgres/auth.hpp"
#include "protocol/postgres/frame_reader.hpp"
#include "protocol/postgres/startup.hpp"
#include "proxy/upstream.hpp"

namespace uniqguard::pgclient {

using namespace asio::experimental::awaitable_operators;
namespace pg = protocol::postgres;
using proxy::use_tuple;
using BC = pg::BackendCode;

namespace {

constexpr std::size_t read_chunk = 16 * 1024;
constexpr std::size_t max_parameters = 65535;  // Bind's int16 parameter count

BC code_of(char type) { return static_cast<BC>(type); }

std::string describe_message(char type) {
    return std::string(pg::backend_name(type)) + " ('" + std::string(1, type) + "')";
}

bool ends_connection(const ServerError& e) {
    return e.severity == "FATAL" || e.severity == "PANIC";
}

}  // namespace

std::string Error::describe() const {
    if (kind != Kind::server) return message;
    std::string out = server.severity.empty() ? "ERROR" : server.severity;
    if (!server.sqlstate.empty()) out += " " + server.sqlstate;
    out += ": " + server.message;
    if (!server.detail.empty()) out += " (DETAIL: " + server.detail + ")";
    return out;
}

PgConnection::PgConnection() = default;

PgConnection::~PgConnection() {
    if (stream_) stream_->close();
}

std::string_view PgConnection::parameter(std::string_view name) const {
    const auto it = parameters_.find(name);
    return it == parameters_.end() ? std::string_view{} : std::string_view(it->second);
}

Error PgConnection::fail(std::string why) {
    if (stream_) {
        stream_->close();
        stream_.reset();
    }
    buffer_.clear();
    pending_consume_ = 0;
    lost_ = why;
    return Error::connection(std::move(why));
}

Status PgConnection::not_open() const {
    return Error::connection(lost_.empty() ? "not connected" : "not connected: " + lost_);
}

asio::awaitable<Status> PgConnection::connect(const config::Backend& backend, ssl::context& tls) {
    if (stream_) co_await close();
    lost_.clear();
    parameters_.clear();
    asio::steady_timer deadline(co_await asio::this_coro::executor, startup_timeout);
    auto outcome = co_await (startup(backend, tls) || deadline.async_wait(use_tuple));
    if (outcome.index() == 1) {
        co_return fail("no answer from the database server at " + backend.address.to_string() +
                       " within " + std::to_string(startup_timeout.count()) + " s of connecting");
    }
    co_return std::get<0>(std::move(outcome));
}

asio::awaitable<Status> PgConnection::startup(const config::Backend& backend, ssl::context& tls) {
    auto upstream = co_await proxy::connect_postgres_upstream(backend, tls);
    if (!upstream.stream) co_return fail(std::move(upstream.error));
    stream_ = std::move(upstream.stream);

    std::string out;
    append_startup_message(out, {{"user", backend.user},
                                 {"database", backend.database},
                                 {"application_name", std::string(application_name)},
                                 {"client_encoding", "UTF8"}});
    if (auto st = co_await write(out); !st) co_return st;
    if (auto st = co_await authenticate(backend); !st) co_return st;

    // After AuthenticationOk: ParameterStatus and BackendKeyData until ReadyForQuery.
    for (;;) {
        auto m = co_await read_message();
        if (!m) co_return m.error();
        switch (code_of(m->type)) {
            case BC::backend_key_data: {
                const auto key = pg::decode_cancel_key(m->body);
                if (!key) co_return fail("the server sent a malformed BackendKeyData");
                backend_pid_ = key->process_id;
                backend_secret_ = key->secret_key;
                break;
            }
            case BC::ready_for_query:
                if (m->body.size() != 1)
                    co_return fail("the server sent a malformed ReadyForQuery");
                tx_status_ = static_cast<pg::TransactionStatus>(m->body[0]);
                co_return Done{};
            case BC::error_response: {
                auto e = decode_error_response(m->body);
                fail("the server refused the connection");
                if (!e) co_return Error::connection("the server sent a malformed ErrorResponse");
                co_return Error::from_server(std::move(*e));
            }
            default:
                if (!handle_asynchronous(*m)) {
                    co_return fail("unexpected " + describe_message(m->type) + " during startup");
                }
        }
    }
}

// Answers the server's authentication requests. The password and the messages carrying it
// are never logged, and no error message quotes them.
asio::awaitable<Status> PgConnection::authenticate(const config::Backend& backend) {
    std::unique_ptr<ScramClient> scram;
    for (;;) {
        auto m = co_await read_message();
        if (!m) co_return m.error();
        if (code_of(m->type) == BC::error_response) {
            auto e = decode_error_response(m->body);
            fail("the server refused the connection");
            if (!e) co_return Error::connection("the server sent a malformed ErrorResponse");
            co_return Error::from_server(std::move(*e));
        }
        if (code_of(m->type) == BC::negotiate_protocol_version) continue;  // we ask for nothing
        if (code_of(m->type) != BC::authentication) {
            if (handle_asynchronous(*m)) continue;
            co_return fail("unexpected " + describe_message(m->type) + " during authentication");
        }
        const auto code = pg::authentication_code(m->body);
        if (!code) co_return fail("the server sent a malformed authentication request");
        const util::Bytes data = m->body.subspan(4);
        const bool needs_password = *code == pg::auth_code::cleartext_password ||
                                    *code == pg::auth_code::md5_password ||
                                    *code == pg::auth_code::sasl;
        if (needs_password && backend.password.empty()) {
            co_return fail("the server asks for a password for user \"" + backend.user +
                           "\", but none was given");
        }
        std::string out;
        switch (*code) {
            case pg::auth_code::ok:
                // A server that skips SCRAM's last step has not proven it knows the password.
                if (scram && !scram->server_verified()) {
                    co_return fail(
                        "the server ended SCRAM authentication without proving that "
                        "it knows the password");
                }
                co_return Done{};
            case pg::auth_code::cleartext_password:
                append_password_message(out, backend.password);
                break;
            case pg::auth_code::md5_password:
                if (data.size() != 4) co_return fail("the server sent a malformed md5 request");
                append_password_message(
                    out, md5_password_response(backend.user, backend.password, data));
                break;
            case pg::auth_code::sasl: {
                const auto mechanisms = pg::decode_sasl_mechanisms(m->body);
                if (!mechanisms) co_return fail("the server sent a malformed SASL request");
                if (std::find(mechanisms->begin(), mechanisms->end(), pg::scram_sha_256) ==
                    mechanisms->end()) {
                    std::string offered;
                    for (const auto& name : *mechanisms)
                        offered += (offered.empty() ? "" : ", ") + name;
                    co_return fail("the server offers SASL mechanisms " + offered +
                                   "; uniqguard supports SCRAM-SHA-256");
                }
                scram = std::make_unique<ScramClient>(backend.password);
                append_sasl_initial_response(out, pg::scram_sha_256, scram->client_first_message());
                break;
            }
            case pg::auth_code::sasl_continue: {
                if (!scram) co_return fail("the server continued a SASL exchange never begun");
                const auto step = scram->handle_server_first(util::as_chars(data));
                if (!step.ok()) co_return fail("SCRAM authentication failed: " + step.error);
                append_sasl_response(out, step.message);
                break;
            }
            case pg::auth_code::sasl_final: {
                if (!scram) co_return fail("the server ended a SASL exchange never begun");
                const auto step = scram->handle_server_final(util::as_chars(data));
                if (!step.ok()) co_return fail("SCRAM authentication failed: " + step.error);
                continue;  // AuthenticationOk follows
            }
            default:
                co_return fail(
                    "the server asks for an authentication method uniqguard does not "
                    "support (code " +
                    std::to_string(*code) + "); supported: trust, password, md5, scram-sha-256");
        }
        if (auto st = co_await write(out); !st) co_return st;
    }
}

asio::awaitable<Result<PgConnection::Message>> PgConnection::read_message() {
    if (!stream_) co_return not_open().error();
    buffer_.consume(pending_consume_);
    pending_consume_ = 0;
    for (;;) {
        const auto r = pg::read_typed_frame(buffer_.readable(), max_message_bytes);
        if (r.status == pg::FrameStatus::complete) {
            pending_consume_ = r.frame.wire_size;
            co_return Message{r.frame.type, r.frame.body};
        }
        if (r.status == pg::FrameStatus::error) {
            co_return fail("the server sent a malformed message (" +
                           std::string(pg::describe(r.error)) + ")");
        }
        const std::size_t missing = r.needed > buffer_.size() ? r.needed - buffer_.size() : 1;
        const auto space = buffer_.writable(std::max(missing, read_chunk));
        auto [ec, n] =
            co_await stream_->async_read_some(asio::buffer(space.data(), space.size()), use_tuple);
        if (ec) {
            co_return fail(ec == asio::error::eof
                               ? "the server closed the connection"
                               : "connection to the server lost: " + ec.message());
        }
        buffer_.commit(n);
    }
}

asio::awaitable<Status> PgConnection::write(const std::string& bytes) {
    if (!stream_) co_return not_open();
    auto [ec, n] = co_await stream_->async_write(asio::buffer(bytes), use_tuple);
    if (ec) co_return fail("could not send to the server: " + ec.message());
    co_return Done{};
}

bool PgConnection::handle_asynchronous(const Message& m) {
    switch (code_of(m.type)) {
        case BC::parameter_status:
            if (auto p = decode_parameter_status(m.body))
                parameters_[p->first] = std::move(p->second);
            return true;
        case BC::notice_response:        // warnings of our own catalog queries: not needed
        case BC::notification_response:  // we LISTEN to nothing
            return true;
        default:
            return false;
    }
}

asio::awaitable<Status> PgConnection::read_replies_until_ready(std::string_view after,
                                                               const ReplyHandler& handle,
                                                               std::optional<Error>& error) {
    for (;;) {
        auto m = co_await read_message();
        if (!m) co_return m.error();
        const ReplyUse use = handle(*m);
        if (!use.malformed.empty()) co_return fail(use.malformed);
        if (use.handled) continue;
        switch (code_of(m->type)) {
            case BC::error_response: {
                auto e = decode_error_response(m->body);
                if (!e) co_return fail("the server sent a malformed ErrorResponse");
                if (ends_connection(*e)) {
                    fail("the server ended the connection: " + e->message);
                    co_return Error::from_server(std::move(*e));
                }
                if (!error || !error->is_server()) error = Error::from_server(std::move(*e));
                break;
            }
            case BC::copy_in_response: {
                // None of our requests sends COPY data: end the COPY so the server answers.
                std::string refuse;
                append_copy_fail(refuse, "uniqguard sends no COPY data here");
                if (auto st = co_await write(refuse); !st) co_return st.error();
                break;
            }
            case BC::ready_for_query:
                if (m->body.size() != 1)
                    co_return fail("the server sent a malformed ReadyForQuery");
                tx_status_ = static_cast<pg::TransactionStatus>(m->body[0]);
                if (error) co_return *error;
                co_return Done{};
            default:
                if (!handle_asynchronous(*m))
                    co_return fail("unexpected " + describe_message(m->type) + " after " +
                                   std::string(after));
        }
    }
}

PgConnection::ReplyUse PgConnection::malformed(std::string what) {
    return {.handled = true, .malformed = "the server sent a malformed " + std::move(what)};
}

asio::awaitable<Result<std::vector<QueryResult>>> PgConnection::simple_query(std::string_view sql) {
    if (!stream_) co_return not_open().error();
    std::string out;
    append_query(out, sql);
    if (auto st = co_await write(out); !st) co_return st.error();

    std::vector<QueryResult> results;
    QueryResult current;
    std::optional<Error> error;
    const ReplyHandler handle = [&](const Message& m) -> ReplyUse {
        switch (code_of(m.type)) {
            case BC::row_description: {
                auto columns = decode_row_description(m.body);
                if (!columns) return malformed("RowDescription");
                current = QueryResult{};
                current.columns = std::move(*columns);
                return {};
            }
            case BC::data_row: {
                Row row;
                if (!decode_data_row(m.body, row)) return malformed("DataRow");
                current.rows.push_back(std::move(row));
                return {};
            }
            case BC::command_complete: {
                auto tag = decode_command_complete(m.body);
                if (!tag) return malformed("CommandComplete");
                current.command_tag = std::move(*tag);
                results.push_back(std::move(current));
                current = QueryResult{};
                return {};
            }
            case BC::empty_query_response:
                results.push_back(std::move(current));
                current = QueryResult{};
                return {};
            case BC::copy_out_response:  // COPY TO STDOUT belongs to copy_out(): data skipped
            case BC::copy_data:
            case BC::copy_done:
                return {};
            default:
                return {.handled = false};
        }
    };
    if (auto st = co_await read_replies_until_ready("a Query", handle, error); !st)
        co_return st.error();
    co_return results;
}

asio::awaitable<Result<QueryResult>> PgConnection::query_params(
    std::string_view sql, const std::vector<std::optional<std::string>>& params) {
    if (!stream_) co_return not_open().error();
    if (params.size() > max_parameters) {
        co_return Error::client("too many parameters: " + std::to_string(params.size()) +
                                " (at most " + std::to_string(max_parameters) + ")");
    }
    std::string out;
    append_parse(out, sql);
    append_bind(out, params);
    append_describe_portal(out);
    append_execute(out);
    append_sync(out);
    if (auto st = co_await write(out); !st) co_return st.error();

    QueryResult result;
    std::optional<Error> error;
    const ReplyHandler handle = [&](const Message& m) -> ReplyUse {
        switch (code_of(m.type)) {
            case BC::parse_complete:
            case BC::bind_complete:
            case BC::no_data:
            case BC::portal_suspended:
            case BC::copy_out_response:
            case BC::copy_data:
            case BC::copy_done:
            case BC::empty_query_response:
                return {};
            case BC::row_description: {
                auto columns = decode_row_description(m.body);
                if (!columns) return malformed("RowDescription");
                result.columns = std::move(*columns);
                return {};
            }
            case BC::data_row: {
                Row row;
                if (!decode_data_row(m.body, row)) return malformed("DataRow");
                result.rows.push_back(std::move(row));
                return {};
            }
            case BC::command_complete: {
                auto tag = decode_command_complete(m.body);
                if (!tag) return malformed("CommandComplete");
                result.command_tag = std::move(*tag);
                return {};
            }
            default:
                return {.handled = false};
        }
    };
    if (auto st = co_await read_replies_until_ready("a Sync", handle, error); !st)
        co_return st.error();
    co_return result;
}

asio::awaitable<Result<std::uint64_t>> PgConnection::copy_out(std::string_view sql,
                                                              const CopyRowHandler& on_row) {
    if (!stream_) co_return not_open().error();
    std::string out;
    append_query(out, sql);
    if (auto st = co_await write(out); !st) co_return st.error();

    std::optional<CopyOutFormat> format;
    std::optional<Error> error;
    std::uint64_t rows = 0;
    std::string partial;  // a row split across CopyData messages
    Row row;
    // Hands every complete line of `data` to on_row; keeps an unfinished one in `partial`.
    auto take = [&](std::string_view data) -> bool {
        while (!data.empty()) {
            const auto newline = data.find('\n');
            if (newline == std::string_view::npos) {
                partial.append(data);
                return true;
            }
            std::string_view line = data.substr(0, newline);
            if (!partial.empty()) {
                partial.append(line);
                line = partial;
            }
            if (format->columns == 0 && line.empty()) {
                row.clear();
            } else if (!decode_copy_text_row(line, row) || row.size() != format->columns) {
                error = Error::client("malformed COPY row " + std::to_string(rows + 1));
                return false;
            }
            try {
                on_row(row);
            } catch (...) {
                fail("the COPY row handler threw");
                throw;
            }
            ++rows;
            partial.clear();
            data.remove_prefix(newline + 1);
        }
        return true;
    };

    const ReplyHandler handle = [&](const Message& m) -> ReplyUse {
        switch (code_of(m.type)) {
            case BC::copy_out_response:
                format = decode_copy_out_response(m.body);
                if (!format) return malformed("CopyOutResponse");
                if (format->binary && !error)
                    error = Error::client("copy_out reads COPY's text format, not binary");
                return {};
            case BC::copy_data:
                if (format && !error) take(util::as_chars(m.body));
                return {};
            case BC::copy_done:
                if (!partial.empty() && !error)
                    error = Error::client("the COPY data ends inside a row");
                return {};
            case BC::command_complete:
                if (!format && !error) error = Error::client("not a COPY ... TO STDOUT statement");
                return {};
            case BC::row_description:
            case BC::data_row:
            case BC::empty_query_response:
                if (!error) error = Error::client("not a COPY ... TO STDOUT statement");
                return {};
            case BC::copy_in_response:
                if (!error) error = Error::client("not a COPY ... TO STDOUT statement");
                return {.handled = false};  // the shared loop ends the COPY
            default:
                return {.handled = false};
        }
    };
    if (auto st = co_await read_replies_until_ready("a COPY", handle, error); !st)
        co_return st.error();
    co_return rows;
}

asio::awaitable<void> PgConnection::close() {
    if (!stream_) co_return;
    std::string out;
    append_terminate(out);
    co_await stream_->async_write(asio::buffer(out), use_tuple);  // best effort
    stream_->close();
    stream_.reset();
    buffer_.clear();
    pending_consume_ = 0;
    lost_ = "the connection was closed";
}

}  // namespace uniqguard::pgclient
