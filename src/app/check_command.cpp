#include "app/check_command.hpp"

#include <algorithm>
#include <boost/asio.hpp>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "check/guard_inspection.hpp"
#include "config/loader.hpp"
#include "pgclient/connection.hpp"
#include "proxy/tls_contexts.hpp"

namespace uniqguard::app {

namespace asio = boost::asio;

namespace {

constexpr int exit_ok = 0;
constexpr int exit_cannot_enforce = 1;
constexpr int exit_error = 2;

void print(const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
}

int fail(const std::string& message) {
    std::fprintf(stderr, "uniqguard: %s\n", message.c_str());
    return exit_error;
}

asio::awaitable<int> run_check(const config::Config& cfg, const config::Backend& backend,
                               asio::ssl::context& tls) {
    pgclient::PgConnection conn;
    const std::string where = "the database server at " + backend.address.to_string() +
                              " (database \"" + backend.database + "\", user \"" + backend.user +
                              "\")";
    if (auto st = co_await conn.connect(backend, tls); !st) {
        co_return fail("cannot connect to " + where + ": " + st.error().describe());
    }
    // check never writes; a read-only session makes sure of it.
    auto setup = co_await conn.simple_query(
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY; "
        "SELECT pg_catalog.current_setting('server_version_num')");
    if (!setup || setup->size() != 2 || setup->back().rows.empty() || !setup->back().rows[0][0]) {
        co_return fail("cannot read the server version from " + where + ": " +
                       (setup ? "no answer" : setup.error().describe()));
    }
    const std::string& version_text = *setup->back().rows[0][0];
    int version = 0;
    std::from_chars(version_text.data(), version_text.data() + version_text.size(), version);

    print("uniqguard check: " + cfg.source_path + "\n" + "connected to " + where + ", PostgreSQL " +
          std::string(conn.parameter("server_version")) + "\n");
    if (cfg.guards.empty()) {
        print("no [[guard]] in the configuration: nothing to check\n");
        co_await conn.close();
        co_return exit_ok;
    }

    std::size_t cannot = 0;
    for (const auto& guard : cfg.guards) {
        auto report = co_await check::inspect_guard(conn, guard, version);
        if (!report) {
            co_await conn.close();
            co_return fail("checking guard " + guard.name +
                           " failed: " + report.error().describe());
        }
        if (!report->problems().empty()) ++cannot;
        print("\n" + check::render(*report));
    }
    co_await conn.close();

    const std::size_t total = cfg.guards.size();
    print("\nchecked " + std::to_string(total) + (total == 1 ? " guard: " : " guards: ") +
          std::to_string(total - cannot) + " can be enforced, " + std::to_string(cannot) +
          " cannot\n");
    co_return cannot == 0 ? exit_ok : exit_cannot_enforce;
}

}  // namespace

int check_command(const CheckOptions& options) {
    auto loaded = config::load_file(options.config_path);
    if (!loaded) return fail(loaded.error->message);
    const config::Config& cfg = *loaded.config;
    if (cfg.listen.protocol != config::Protocol::postgres) {
        return fail(options.config_path +
                    ": listen.protocol = \"mysql\": check supports PostgreSQL backends only in "
                    "this build");
    }
    for (const auto& guard : cfg.guards) {
        const bool nul = guard.table.find('\0') != std::string::npos ||
                         std::any_of(guard.columns.begin(), guard.columns.end(), [](const auto& c) {
                             return c.find('\0') != std::string::npos;
                         });
        if (nul) {
            return fail(options.config_path + ":" + std::to_string(guard.source_line) + ": guard " +
                        guard.name + ": a name contains a NUL character");
        }
    }

    config::Backend backend = cfg.backend;
    if (options.user) {
        backend.user = *options.user;
        backend.password.clear();  // the configured password belongs to the configured user
    }
    if (options.password_env) {
        const char* password = std::getenv(options.password_env->c_str());
        if (password == nullptr) {
            return fail("--password-env: the environment variable " + *options.password_env +
                        " is not set");
        }
        backend.password = password;
    }

    asio::ssl::context tls(asio::ssl::context::tls_client);
    if (auto err = proxy::configure_backend_tls(tls, backend); !err.empty()) return fail(err);

    asio::io_context io;
    int status = exit_error;
    asio::co_spawn(io, run_check(cfg, backend, tls), [&](std::exception_ptr e, int result) {
        if (!e) {
            status = result;
            return;
        }
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            status = fail(std::string("internal error: ") + ex.what());
        } catch (...) {
            status = fail("internal error");
        }
    });
    io.run();
    return status;
}

}  // namespace uniqguard::app
