// ToolDb over the proxy's own PostgreSQL client (pgclient::PgConnection). We reuse it rather
// than add libpq: it already logs in the way `serve` and `check` do (TLS modes, SCRAM), and its
// copy_out streams a result one row at a time, which is what audit needs for big tables. Each
// call runs the client's coroutine to completion on a private io_context, so the tools stay
// plain sequential code.
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <charconv>
#include <exception>

#include "pgclient/connection.hpp"
#include "pgclient/sql_text.hpp"
#include "proxy/tls_contexts.hpp"
#include "tool_db.hpp"
#include "util/gcc12_coroutine_frames.hpp"

namespace uniqguard::app::audit {

namespace asio = boost::asio;

namespace {

class PgToolDb final : public ToolDb {
  public:
    explicit PgToolDb(const config::Backend& backend) : tls_(asio::ssl::context::tls_client) {
        if (auto err = proxy::configure_backend_tls(tls_, backend); !err.empty())
            throw DbError(err);
        where_ = "the database server at " + backend.address.to_string() + " (database \"" +
                 backend.database + "\", user \"" + backend.user + "\")";
        auto st = run(conn_.connect(backend, tls_));
        if (!st) throw DbError("cannot connect to " + where_ + ": " + st.error().describe());
        // Literals are quoted for standard_conforming_strings = on; the tools' own statements
        // must not wait forever behind a forgotten transaction either, but a lock wait is the
        // point of dedupe's LOCK TABLE, so lock_timeout stays the server's.
        query("SET standard_conforming_strings = on; SET client_min_messages = warning");
        version_ = std::string(conn_.parameter("server_version"));
    }
    ~PgToolDb() override {
        try {
            if (conn_.is_open()) run(conn_.close());
        } catch (...) {
            // Closing is a courtesy (Terminate): the socket closes with the object anyway.
        }
    }

    Flavour flavour() const override { return Flavour::postgres; }
    std::string server_description() const override {
        return "PostgreSQL " + version_ + " (" + where_ + ")";
    }

    std::uint64_t execute(const std::string& sql) override {
        auto r = run(conn_.simple_query(sql));
        if (!r) throw DbError(r.error().describe());
        // "INSERT 0 5", "DELETE 5", "UPDATE 5": the count is the tag's last word.
        const std::string& tag = r->empty() ? std::string() : r->back().command_tag;
        std::uint64_t n = 0;
        if (auto space = tag.rfind(' '); space != std::string::npos) {
            std::from_chars(tag.data() + space + 1, tag.data() + tag.size(), n);
        }
        return n;
    }

    std::vector<Row> query(const std::string& sql) override {
        auto r = run(conn_.simple_query(sql));
        if (!r) throw DbError(r.error().describe());
        if (r->empty()) return {};
        return std::move(r->back().rows);
    }

    std::uint64_t stream(const std::string& select,
                         const std::function<void(const Row&)>& on_row) override {
        const std::string copy = "COPY (" + select + ") TO STDOUT";
        auto n = run(conn_.copy_out(copy, on_row));
        if (!n) throw DbError(n.error().describe());
        return *n;
    }

    void make_read_only() override {
        execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY");
    }

    std::string quote_identifier(std::string_view name) const override {
        return pgclient::quote_identifier(name);
    }
    std::string quote_literal(std::string_view text) const override {
        if (text.find('\0') != std::string_view::npos) throw DbError("a name contains NUL");
        std::string out = "'";
        for (char c : text) {
            if (c == '\'') out += '\'';
            out += c;
        }
        return out + "'";
    }
    std::size_t identifier_limit() const override { return 63; }  // NAMEDATALEN - 1
    bool identifier_limit_in_bytes() const override { return true; }

  private:
    // Runs one client operation to completion. The client never throws across its API, so an
    // exception here is a bug: it is rethrown as it came.
    template <typename T>
    T run(asio::awaitable<T> op) {
        T out{};
        std::exception_ptr failure;
        asio::co_spawn(io_, std::move(op), [&](std::exception_ptr e, T value) {
            failure = e;
            if (!e) out = std::move(value);
        });
        io_.restart();
        io_.run();
        if (failure) std::rethrow_exception(failure);
        return out;
    }
    void run(asio::awaitable<void> op) {
        std::exception_ptr failure;
        asio::co_spawn(io_, std::move(op), [&](std::exception_ptr e) { failure = e; });
        io_.restart();
        io_.run();
        if (failure) std::rethrow_exception(failure);
    }

    asio::io_context io_;
    asio::ssl::context tls_;
    pgclient::PgConnection conn_;
    std::string where_;
    std::string version_;
};

}  // namespace

std::unique_ptr<ToolDb> connect_postgres(const config::Backend& backend) {
    return std::make_unique<PgToolDb>(backend);
}

}  // namespace uniqguard::app::audit
