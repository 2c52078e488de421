// ToolDb over MariaDB Connector/C (Debian's libmariadb-dev), for MySQL and MariaDB servers.
// The proxy's MySQL side only relays packets and has no client of its own; the tools need
// result sets decoded, TLS and every authentication plugin, which Connector/C has. stream()
// uses mysql_use_result, so rows come off the socket one at a time (memory stays bounded
// whatever the table's size); the connection is busy until the last row is read.
#include <errmsg.h>
#include <mysql.h>

#include <cstring>

#include "tool_db.hpp"

namespace uniqguard::app::audit {

namespace {

class MySqlToolDb final : public ToolDb {
  public:
    explicit MySqlToolDb(const config::Backend& backend) {
        where_ = "the database server at " + backend.address.to_string() + " (database \"" +
                 backend.database + "\", user \"" + backend.user + "\")";
        using config::BackendTls;
        const bool tls = backend.tls != BackendTls::disable;
        if (connect(backend, tls)) {
            // Connector/C 3.3 goes on in plaintext when the server offers no TLS, whatever
            // MYSQL_OPT_SSL_ENFORCE says (seen with MariaDB 10.11): check the session itself.
            if (backend.tls == BackendTls::prefer || !tls || mysql_get_ssl_cipher(mysql_)) return;
            mysql_close(mysql_);
            mysql_ = nullptr;
            throw DbError("cannot connect to " + where_ +
                          ": the server offers no TLS, which backend.tls requires");
        }
        // prefer: TLS when the server offers it. Connector/C cannot be told "TLS if offered",
        // so a refused TLS handshake (2026) is retried in plaintext, as libpq's sslmode=prefer.
        if (backend.tls == BackendTls::prefer && mysql_errno(mysql_) == CR_SSL_CONNECTION_ERROR) {
            mysql_close(mysql_);
            if (connect(backend, false)) return;
        }
        std::string why = "cannot connect to " + where_ + ": " + last_error();
        mysql_close(mysql_);
        mysql_ = nullptr;
        throw DbError(why);
    }
    ~MySqlToolDb() override {
        if (mysql_ != nullptr) mysql_close(mysql_);
    }

    Flavour flavour() const override { return Flavour::mysql; }
    std::string server_description() const override {
        std::string version = mysql_get_server_info(mysql_);
        const bool maria = version.find("MariaDB") != std::string::npos;
        // MariaDB 10.x may announce "5.5.5-10.11.6-MariaDB-..." for old clients.
        if (version.rfind("5.5.5-", 0) == 0) version.erase(0, 6);
        if (auto dash = version.find('-'); dash != std::string::npos) version.resize(dash);
        return std::string(maria ? "MariaDB " : "MySQL ") + version + " (" + where_ + ")";
    }

    std::uint64_t execute(const std::string& sql) override {
        send(sql);
        MYSQL_RES* res = mysql_store_result(mysql_);
        if (res != nullptr) mysql_free_result(res);
        if (mysql_field_count(mysql_) != 0 && res == nullptr) throw DbError(last_error());
        const my_ulonglong n = mysql_affected_rows(mysql_);
        return n == static_cast<my_ulonglong>(-1) ? 0 : n;
    }

    std::vector<Row> query(const std::string& sql) override {
        std::vector<Row> rows;
        send(sql);
        MYSQL_RES* res = mysql_store_result(mysql_);
        if (res == nullptr) {
            if (mysql_field_count(mysql_) != 0) throw DbError(last_error());
            return rows;
        }
        const unsigned int columns = mysql_num_fields(res);
        while (MYSQL_ROW r = mysql_fetch_row(res)) rows.push_back(to_row(r, res, columns));
        mysql_free_result(res);
        return rows;
    }

    std::uint64_t stream(const std::string& select,
                         const std::function<void(const Row&)>& on_row) override {
        send(select);
        MYSQL_RES* res = mysql_use_result(mysql_);
        if (res == nullptr) throw DbError(last_error());
        const unsigned int columns = mysql_num_fields(res);
        std::uint64_t n = 0;
        Row row;
        try {
            while (MYSQL_ROW r = mysql_fetch_row(res)) {
                row = to_row(r, res, columns);
                on_row(row);
                ++n;
            }
        } catch (...) {
            mysql_free_result(res);  // reads the rest of the result: the connection stays usable
            throw;
        }
        // A NULL from mysql_fetch_row is the end or an error (connection lost mid-result).
        const bool failed = mysql_errno(mysql_) != 0;
        std::string why = failed ? last_error() : std::string();
        mysql_free_result(res);
        if (failed) throw DbError(why);
        return n;
    }

    void make_read_only() override { execute("SET SESSION TRANSACTION READ ONLY"); }

    std::string quote_identifier(std::string_view name) const override {
        std::string out = "`";
        for (char c : name) {
            if (c == '`') out += '`';
            out += c;
        }
        return out + "`";
    }
    std::string quote_literal(std::string_view text) const override {
        // mysql_real_escape_string follows the connection's character set and the server's
        // NO_BACKSLASH_ESCAPES mode.
        std::string out(text.size() * 2 + 1, '\0');
        const unsigned long n = mysql_real_escape_string(mysql_, out.data(), text.data(),
                                                         static_cast<unsigned long>(text.size()));
        out.resize(n);
        return "'" + out + "'";
    }
    std::size_t identifier_limit() const override { return 64; }
    bool identifier_limit_in_bytes() const override { return false; }

  private:
    // A fresh handle in mysql_, connected or not (then mysql_errno says why).
    bool connect(const config::Backend& backend, bool tls) {
        mysql_ = mysql_init(nullptr);
        if (mysql_ == nullptr) throw DbError("out of memory");
        mysql_optionsv(mysql_, MYSQL_SET_CHARSET_NAME, "utf8mb4");
        // Connector/C reads no option file unless asked: the configuration alone decides.
        const unsigned int timeout = 30;
        mysql_optionsv(mysql_, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
        if (tls) {
            // require: TLS or nothing, the certificate not checked (as libpq's require);
            // verify-full: the chain against tls_ca and the host name too.
            const my_bool enforce = 1;
            mysql_optionsv(mysql_, MYSQL_OPT_SSL_ENFORCE, &enforce);
            if (backend.tls_ca) mysql_optionsv(mysql_, MYSQL_OPT_SSL_CA, backend.tls_ca->c_str());
            const my_bool verify = backend.tls == config::BackendTls::verify_full;
            mysql_optionsv(mysql_, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
        }
        const char* password = backend.password.empty() ? nullptr : backend.password.c_str();
        return mysql_real_connect(mysql_, backend.address.host.c_str(), backend.user.c_str(),
                                  password, backend.database.c_str(), backend.address.port, nullptr,
                                  0) != nullptr;
    }

    void send(const std::string& sql) {
        if (mysql_real_query(mysql_, sql.data(), static_cast<unsigned long>(sql.size())) != 0) {
            throw DbError(last_error());
        }
    }

    static Row to_row(MYSQL_ROW r, MYSQL_RES* res, unsigned int columns) {
        const unsigned long* lengths = mysql_fetch_lengths(res);
        Row row;
        row.reserve(columns);
        for (unsigned int i = 0; i < columns; ++i) {
            if (r[i] == nullptr) {
                row.emplace_back(std::nullopt);
            } else {
                row.emplace_back(std::string(r[i], lengths[i]));
            }
        }
        return row;
    }

    std::string last_error() const {
        return "ERROR " + std::to_string(mysql_errno(mysql_)) + " (" + mysql_sqlstate(mysql_) +
               "): " + mysql_error(mysql_);
    }

    MYSQL* mysql_ = nullptr;
    std::string where_;
};

}  // namespace

std::unique_ptr<ToolDb> connect_mysql(const config::Backend& backend) {
    return std::make_unique<MySqlToolDb>(backend);
}

}  // namespace uniqguard::app::audit
