// The database connection of `audit` and `dedupe`: one synchronous interface over the two
// servers (PostgreSQL through the proxy's own client, MySQL/MariaDB through Connector/C), so
// that the steps of SPEC §6 are written once. The tools are sequential scripts of SQL where any
// failure ends the run (after a ROLLBACK): a DbError carries the server's message up to the one
// place per command that reports it. Nothing here is used by `serve`.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace uniqguard::app::audit {

using Value = std::optional<std::string>;  // text form; nullopt is SQL NULL
using Row = std::vector<Value>;

enum class Flavour { postgres, mysql };

// A failed statement or connection; what() is ready to print ("ERROR 42P01: ...").
class DbError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class ToolDb {
  public:
    virtual ~ToolDb() = default;
    virtual Flavour flavour() const = 0;
    // "PostgreSQL 15.4" / "MariaDB 10.11.6".
    virtual std::string server_description() const = 0;

    // A statement without rows; returns the rows it affected (INSERT, UPDATE, DELETE).
    virtual std::uint64_t execute(const std::string& sql) = 0;
    // A statement whose (small) result is read whole: catalog reads and counts.
    virtual std::vector<Row> query(const std::string& sql) = 0;
    // A SELECT whose rows are handed to `on_row` one at a time as they arrive from the server,
    // never held together (PostgreSQL: COPY (...) TO STDOUT; MySQL: mysql_use_result).
    // Returns the number of rows.
    virtual std::uint64_t stream(const std::string& select,
                                 const std::function<void(const Row&)>& on_row) = 0;

    // From now on the session refuses writes (audit, and dedupe without --apply): a bug in a
    // statement built here could then never change data.
    virtual void make_read_only() = 0;

    virtual std::string quote_identifier(std::string_view name) const = 0;
    virtual std::string quote_literal(std::string_view text) const = 0;
    // The server's limit for an identifier: PostgreSQL 63 bytes, MySQL 64 characters.
    virtual std::size_t identifier_limit() const = 0;
    virtual bool identifier_limit_in_bytes() const = 0;
};

// Connects with `backend` (the configured account, or --user / --password-env already applied).
// Throws DbError naming the server when it cannot.
std::unique_ptr<ToolDb> connect_postgres(const config::Backend& backend);
std::unique_ptr<ToolDb> connect_mysql(const config::Backend& backend);

}  // namespace uniqguard::app::audit
