// The catalog queries of `uniqguard check`: fills a GuardReport for one guard. Everything is
// computed on the server (the table is never loaded); configured names reach the server only
// as parameters or double-quoted identifiers.
#pragma once

#include <boost/asio.hpp>

#include "config/config.hpp"
#include "guard_report.hpp"
#include "pgclient/connection.hpp"

namespace uniqguard::app::check {

// `server_version_num` selects catalog columns that older servers lack. A server error in the
// count of the table (permission denied) is part of the report; other errors are returned.
boost::asio::awaitable<pgclient::Result<GuardReport>> inspect_guard(pgclient::PgConnection& conn,
                                                                    const config::Guard& guard,
                                                                    int server_version_num);

}  // namespace uniqguard::app::check
