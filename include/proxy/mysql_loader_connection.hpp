// The proxy's own MySQL/MariaDB connection (its account, backend.user), over MariaDB
// Connector/C, for the work that reads whole tables: loading a guard's key set at start. Blocking:
// it runs on the loader's own thread, never on an Asio thread. Rows are streamed
// (mysql_use_result: one row at a time off the socket, whatever the table's size) in utf8mb4.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "guard/mysql_key_set_load.hpp"

struct st_mysql;

namespace uniqguard::proxy {

class MySqlLoaderConnection final : public guard::MySqlRowSource {
  public:
    // Connects as backend.tls says (disable, prefer: TLS when offered, require, verify-full);
    // null with `error` when it cannot.
    static std::unique_ptr<MySqlLoaderConnection> connect(const config::Backend& backend,
                                                          std::string& error);
    ~MySqlLoaderConnection() override;

    bool stream(const std::string& sql, const std::function<bool(guard::MySqlRow)>& on_row,
                std::string& error) override;

  private:
    explicit MySqlLoaderConnection(st_mysql* mysql) : mysql_(mysql) {}
    std::string last_error() const;
    st_mysql* mysql_;
};

}  // namespace uniqguard::proxy
