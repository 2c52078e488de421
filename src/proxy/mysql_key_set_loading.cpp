#include "proxy/mysql_key_set_loading.hpp"

#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "guard/mysql_check_sql.hpp"
#include "proxy/mysql_loader_connection.hpp"
#include "util/gcc12_coroutine_frames.hpp"

namespace uniqguard::proxy {

namespace {

constexpr auto retry_delay = std::chrono::seconds(5);
constexpr auto progress_interval = std::chrono::seconds(5);

double seconds(std::chrono::steady_clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

// A string as SQL the server reads byte for byte, whatever the connection's settings.
std::string string_expression(std::string_view s) { return guard::mysql_string_expression(s); }

// "db.table" or "table" (backend.database): the guard's table as the server names it.
std::pair<std::string, std::string> split_table(const std::string& configured,
                                                const std::string& database) {
    const auto dot = configured.find('.');
    if (dot == std::string::npos) return {database, configured};
    return {configured.substr(0, dot), configured.substr(dot + 1)};
}

// Counts the rows of the key-set read for progress lines (as the PostgreSQL loader logs them)
// and stops the read when the proxy shuts down.
class ProgressSource final : public guard::MySqlRowSource {
  public:
    ProgressSource(guard::MySqlRowSource& inner, const std::string& guard,
                   const std::atomic<bool>& stop)
        : inner_(inner), guard_(guard), stop_(stop) {}
    bool stream(const std::string& sql, const std::function<bool(guard::MySqlRow)>& on_row,
                std::string& error) override {
        const auto start = std::chrono::steady_clock::now();
        auto last = start;
        std::uint64_t rows = 0;
        bool stopped = false;
        const bool ok = inner_.stream(
            sql,
            [&](guard::MySqlRow row) {
                if (++rows % 65536 == 0) {
                    if (stop_.load(std::memory_order_relaxed)) {
                        stopped = true;
                        return false;
                    }
                    const auto now = std::chrono::steady_clock::now();
                    if (now - last >= progress_interval) {
                        last = now;
                        spdlog::info("guard {}: {} rows read in {:.1f} s", guard_, rows,
                                     seconds(now - start));
                    }
                }
                return on_row(row);
            },
            error);
        if (stopped) error = "the proxy is shutting down";
        return ok;
    }

  private:
    guard::MySqlRowSource& inner_;
    const std::string& guard_;
    const std::atomic<bool>& stop_;
};

// The table's columns in order, as an INSERT without a column list fills them; and its
// PRIMARY KEY when that is one AUTO_INCREMENT integer column and no BEFORE INSERT trigger may
// set it (`integer_primary_key`, else empty): an ON DUPLICATE KEY UPDATE names its existing
// rows by it, its new rows leave it to the counter (docs/mysql.md).
std::optional<std::vector<std::string>> table_columns(
    guard::MySqlRowSource& db, const std::string& schema, const std::string& table,
    std::string& integer_primary_key, std::vector<std::string>& auto_increment,
    std::vector<std::string>& generated, std::vector<std::string>& primary, std::string& error) {
    std::vector<std::string> columns;
    const std::string sql =
        "SELECT COLUMN_NAME, COLUMN_KEY, DATA_TYPE, EXTRA, (SELECT COUNT(*) FROM "
        "information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = BINARY " +
        string_expression(schema) + " AND EVENT_OBJECT_TABLE = BINARY " + string_expression(table) +
        " AND EVENT_MANIPULATION = 'INSERT' AND ACTION_TIMING = 'BEFORE') FROM "
        "information_schema.COLUMNS WHERE TABLE_SCHEMA = BINARY " +
        string_expression(schema) + " AND TABLE_NAME = BINARY " + string_expression(table) +
        " ORDER BY ORDINAL_POSITION";
    bool primary_integer = true;
    bool before_insert_trigger = false;
    if (!db.stream(
            sql,
            [&](guard::MySqlRow row) {
                if (row.empty() || !row[0]) return false;
                columns.emplace_back(*row[0]);
                // MariaDB's EXTRA says "VIRTUAL GENERATED" / "STORED GENERATED"; MySQL 8's
                // "DEFAULT_GENERATED" is an expression default, a column like any other.
                const std::string_view extra =
                    row.size() >= 4 && row[3] ? std::string_view(*row[3]) : std::string_view();
                if (extra.find("auto_increment") != std::string_view::npos)
                    auto_increment.emplace_back(*row[0]);
                if (extra.find("VIRTUAL GENERATED") != std::string_view::npos ||
                    extra.find("STORED GENERATED") != std::string_view::npos)
                    generated.emplace_back(*row[0]);
                if (row.size() >= 5 && row[4] && *row[4] != "0") before_insert_trigger = true;
                if (row.size() >= 3 && row[1] && *row[1] == "PRI") {
                    primary.emplace_back(*row[0]);
                    const std::string type = row[2] ? std::string(*row[2]) : std::string();
                    const bool counted =
                        row.size() >= 4 && row[3] &&
                        std::string_view(*row[3]).find("auto_increment") != std::string_view::npos;
                    primary_integer = primary_integer && counted &&
                                      (type == "tinyint" || type == "smallint" ||
                                       type == "mediumint" || type == "int" || type == "bigint");
                }
                return true;
            },
            error))
        return std::nullopt;
    integer_primary_key =
        primary.size() == 1 && primary_integer && !before_insert_trigger ? primary.front() : "";
    if (columns.empty()) {
        error = "table " + schema + "." + table +
                " does not exist (or the proxy's account "
                "cannot see it)";
        return std::nullopt;
    }
    return columns;
}

std::mutex global_sql_mode_mutex;
std::string global_sql_mode;  // under the mutex

// Read once per connection: a SET GLOBAL sql_mode later is not seen (sessions that change
// their own are followed by their SETs).
void read_global_sql_mode(guard::MySqlRowSource& db) {
    std::string error, mode;
    if (!db.stream(
            "SELECT @@GLOBAL.sql_mode",
            [&](guard::MySqlRow row) {
                if (!row.empty() && row[0]) mode = *row[0];
                return true;
            },
            error)) {
        spdlog::warn("guards: cannot read the server's global sql_mode: {}", error);
        return;
    }
    std::lock_guard lock(global_sql_mode_mutex);
    global_sql_mode = std::move(mode);
}

// One pass over the guards not ready; true when all are.
bool load_round(SharedState& shared, guard::CollationWeightsCache& cache) {
    const auto now = shared.reloadable.current().value;
    const auto& backend = now.config->backend;
    std::string error;
    auto conn = MySqlLoaderConnection::connect(backend, error);
    if (!conn) {
        for (const auto& g : now.guards->guards())
            if (g->state() != guard::GuardLoadState::ready)
                g->set_failed("cannot connect to the backend: " + error);
        spdlog::error("guards: cannot connect to the backend to load the key sets: {}", error);
        return false;
    }
    read_global_sql_mode(*conn);
    bool all_ready = true;
    for (const auto& g : now.guards->guards()) {
        if (g->state() == guard::GuardLoadState::ready) continue;
        if (!load_mysql_guard(*conn, backend.database, *g, cache, shared.shutting_down))
            all_ready = false;
        if (shared.shutting_down) break;
    }
    return all_ready;
}

void run_loader(SharedState& shared) {
    guard::CollationWeightsCache cache;  // weights of each collation, read once
    while (!shared.shutting_down) {
        if (load_round(shared, cache)) return;
        if (shared.shutting_down) return;
        spdlog::info("guards: retrying in {} s", retry_delay.count());
        const auto until = std::chrono::steady_clock::now() + retry_delay;
        while (!shared.shutting_down && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

// The loader thread and what wakes the coroutine that waits for it.
struct LoaderJob {
    explicit LoaderJob(asio::any_io_executor executor)
        : done(std::move(executor), asio::steady_timer::time_point::max()) {}
    asio::steady_timer done;
    std::thread thread;
};

}  // namespace

std::string mysql_global_sql_mode() {
    std::lock_guard lock(global_sql_mode_mutex);
    return global_sql_mode;
}

bool load_mysql_guard(guard::MySqlRowSource& db, const std::string& database, guard::GuardState& g,
                      guard::CollationWeightsCache& cache, const std::atomic<bool>& stop) {
    const auto& cfg = g.config();
    const auto [schema, table] = split_table(cfg.table, database);
    std::string error;
    auto fail = [&](const std::string& why) {
        g.keys().clear();
        g.set_failed(why);
        spdlog::error("guard {}: {}", cfg.name, why);
        return false;
    };
    std::string integer_primary_key;
    std::vector<std::string> auto_increment, generated, primary;
    auto columns = table_columns(db, schema, table, integer_primary_key, auto_increment, generated,
                                 primary, error);
    if (!columns) return fail(error);
    auto keys = guard::read_mysql_key_columns(db, schema, table, cfg.columns, cache, error);
    if (!keys) return fail(error);
    spdlog::info("guard {}: loading the key set of {}.{} ({})", cfg.name, schema, table,
                 fmt::join(cfg.columns, ", "));
    ProgressSource progress(db, cfg.name, stop);
    const auto stats = guard::load_mysql_key_set(progress, schema, table, *keys, cfg.nulls_distinct,
                                                 g.seed(), g.keys(), error);
    if (!stats) return fail("loading the key set failed: " + error);

    guard::GuardTable shown;  // what the admin endpoint shows of the table
    shown.schema = schema;
    shown.name = table;
    shown.qualified_sql =
        guard::mysql_quote_identifier(schema) + "." + guard::mysql_quote_identifier(table);
    for (const auto& c : *columns) shown.columns.push_back({.name = c});
    for (const auto& key : cfg.columns)
        for (std::size_t i = 0; i < columns->size(); ++i)
            if ((*columns)[i] == key) shown.key_columns.push_back(i);
    auto mysql = std::make_shared<const guard::MySqlGuardTable>(
        guard::MySqlGuardTable{.schema = schema,
                               .name = table,
                               .columns = std::move(*columns),
                               .keys = std::move(*keys),
                               .integer_primary_key = std::move(integer_primary_key),
                               .auto_increment_columns = std::move(auto_increment),
                               .primary_key_columns = std::move(primary),
                               .generated_columns = std::move(generated)});
    g.set_load_duration(stats->elapsed);
    g.set_ready(std::move(shown), std::move(mysql));
    const double s = seconds(stats->elapsed);
    spdlog::info("guard {}: ready: {} rows, {} distinct keys, {:.2f} MiB, {:.2f} s ({:.0f} keys/s)",
                 cfg.name, stats->rows, stats->distinct_fingerprints,
                 static_cast<double>(stats->memory_bytes) / (1024.0 * 1024.0), s,
                 s > 0 ? static_cast<double>(stats->rows) / s : 0.0);
    return true;
}

asio::awaitable<void> load_mysql_guards(SharedState& shared) {
    auto job = std::make_shared<LoaderJob>(co_await asio::this_coro::executor);
    // The thread posts its end to this context; the job outlives whichever of the two ends
    // last. Destroying the coroutine (shutdown) joins the thread, which stops at its next row.
    job->thread = std::thread(
        [&shared, job_ptr = std::weak_ptr<LoaderJob>(job), executor = job->done.get_executor()] {
            try {
                run_loader(shared);
            } catch (const std::exception& e) {
                spdlog::error("key set loading: {}", e.what());
            }
            asio::post(executor, [job_ptr] {
                if (auto j = job_ptr.lock()) j->done.cancel();
            });
        });
    struct Joiner {
        LoaderJob& job;
        ~Joiner() {
            if (job.thread.joinable()) job.thread.join();
        }
    } joiner{*job};
    co_await job->done.async_wait(use_tuple);
}

}  // namespace uniqguard::proxy
