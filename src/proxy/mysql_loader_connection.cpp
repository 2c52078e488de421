#include "proxy/mysql_loader_connection.hpp"

#include <errmsg.h>
#include <mysql.h>

#include <vector>

namespace uniqguard::proxy {

namespace {

// A fresh handle, connected or not (then mysql_errno says why).
MYSQL* open_handle(const config::Backend& backend, bool tls) {
    MYSQL* mysql = mysql_init(nullptr);
    if (mysql == nullptr) return nullptr;
    // Connector/C reads no option file unless asked: the configuration alone decides.
    mysql_optionsv(mysql, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    const unsigned int timeout = 30;
    mysql_optionsv(mysql, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    if (tls) {
        const my_bool enforce = 1;
        mysql_optionsv(mysql, MYSQL_OPT_SSL_ENFORCE, &enforce);
        if (backend.tls_ca) mysql_optionsv(mysql, MYSQL_OPT_SSL_CA, backend.tls_ca->c_str());
        const my_bool verify = backend.tls == config::BackendTls::verify_full;
        mysql_optionsv(mysql, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    }
    const char* password = backend.password.empty() ? nullptr : backend.password.c_str();
    mysql_real_connect(mysql, backend.address.host.c_str(), backend.user.c_str(), password,
                       backend.database.c_str(), backend.address.port, nullptr, 0);
    return mysql;
}

std::string describe(MYSQL* mysql) {
    return "ERROR " + std::to_string(mysql_errno(mysql)) + " (" + mysql_sqlstate(mysql) +
           "): " + mysql_error(mysql);
}

}  // namespace

std::unique_ptr<MySqlLoaderConnection> MySqlLoaderConnection::connect(
    const config::Backend& backend, std::string& error) {
    using config::BackendTls;
    const bool tls = backend.tls != BackendTls::disable;
    MYSQL* mysql = open_handle(backend, tls);
    if (mysql == nullptr) {
        error = "out of memory";
        return nullptr;
    }
    if (mysql_errno(mysql) == 0) {
        // Connector/C 3.3 goes on in plaintext when the server offers no TLS, whatever
        // MYSQL_OPT_SSL_ENFORCE says: require and verify-full check the session itself.
        if (!tls || backend.tls == BackendTls::prefer || mysql_get_ssl_cipher(mysql) != nullptr)
            return std::unique_ptr<MySqlLoaderConnection>(new MySqlLoaderConnection(mysql));
        mysql_close(mysql);
        error = "the server offers no TLS, which backend.tls requires";
        return nullptr;
    }
    // prefer: a refused TLS handshake is tried again in plaintext (as libpq's sslmode=prefer).
    if (backend.tls == BackendTls::prefer && mysql_errno(mysql) == CR_SSL_CONNECTION_ERROR) {
        mysql_close(mysql);
        mysql = open_handle(backend, false);
        if (mysql != nullptr && mysql_errno(mysql) == 0)
            return std::unique_ptr<MySqlLoaderConnection>(new MySqlLoaderConnection(mysql));
        if (mysql == nullptr) {
            error = "out of memory";
            return nullptr;
        }
    }
    error = describe(mysql);
    mysql_close(mysql);
    return nullptr;
}

MySqlLoaderConnection::~MySqlLoaderConnection() { mysql_close(mysql_); }

std::string MySqlLoaderConnection::last_error() const { return describe(mysql_); }

bool MySqlLoaderConnection::stream(const std::string& sql,
                                   const std::function<bool(guard::MySqlRow)>& on_row,
                                   std::string& error) {
    if (mysql_real_query(mysql_, sql.data(), static_cast<unsigned long>(sql.size())) != 0) {
        error = last_error();
        return false;
    }
    MYSQL_RES* res = mysql_use_result(mysql_);
    if (res == nullptr) {
        error = last_error();
        return false;
    }
    const unsigned fields = mysql_num_fields(res);
    std::vector<std::optional<std::string_view>> row(fields);
    bool ok = true;
    while (MYSQL_ROW r = mysql_fetch_row(res)) {
        const unsigned long* lengths = mysql_fetch_lengths(res);
        for (unsigned i = 0; i < fields; ++i)
            row[i] = r[i] ? std::optional<std::string_view>(std::string_view(r[i], lengths[i]))
                          : std::nullopt;
        if (!on_row(row)) {
            ok = false;
            break;
        }
    }
    if (ok && mysql_errno(mysql_) != 0) {
        error = last_error();
        ok = false;
    }
    // With rows left (on_row stopped), this reads them off the connection: the loader closes it
    // afterwards anyway.
    mysql_free_result(res);
    return ok;
}

}  // namespace uniqguard::proxy
