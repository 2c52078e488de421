// Loads a MySQL/MariaDB guard's key set the way the proxy is to (guard/mysql_key_set_load), over
// MariaDB Connector/C, for tests/integration/test_mysql_key_set_load.py.
//
//   mysql_load_keys SOCKET USER DATABASE TABLE COLUMN...
// prints "rows R nulls N distinct D memory M weights_ms W" or "error <message>" (exit 1).
#include <mysql.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "guard/mysql_key_set_load.hpp"

using namespace uniqguard::guard;

namespace {

class ConnectorSource final : public MySqlRowSource {
  public:
    explicit ConnectorSource(MYSQL* mysql) : mysql_(mysql) {}
    bool stream(const std::string& sql, const std::function<bool(MySqlRow)>& on_row,
                std::string& error) override {
        if (mysql_real_query(mysql_, sql.data(), sql.size()) != 0) {
            error = mysql_error(mysql_);
            return false;
        }
        MYSQL_RES* res = mysql_use_result(mysql_);
        if (res == nullptr) {
            error = mysql_error(mysql_);
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
            if (ok && !on_row(row)) ok = false;  // read the rest off the connection anyway
        }
        if (mysql_errno(mysql_) != 0) {
            error = mysql_error(mysql_);
            ok = false;
        }
        mysql_free_result(res);
        return ok;
    }

  private:
    MYSQL* mysql_;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 6) {
        std::fprintf(stderr, "usage: mysql_load_keys SOCKET USER DATABASE TABLE COLUMN...\n");
        return 2;
    }
    MYSQL* mysql = mysql_init(nullptr);
    if (!mysql_real_connect(mysql, nullptr, argv[2], nullptr, argv[3], 0, argv[1], 0) ||
        mysql_set_character_set(mysql, "utf8mb4") != 0) {
        std::printf("error %s\n", mysql_error(mysql));
        return 1;
    }
    ConnectorSource source(mysql);
    std::vector<std::string> columns(argv + 5, argv + argc);
    CollationWeightsCache cache;
    std::string error;
    const auto started = std::chrono::steady_clock::now();
    const auto keys = read_mysql_key_columns(source, argv[3], argv[4], columns, cache, error);
    const auto weights_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - started)
                                .count();
    if (!keys) {
        std::printf("error %s\n", error.c_str());
        return 1;
    }
    KeySet set;
    const auto stats = load_mysql_key_set(source, argv[3], argv[4], *keys, true, 0, set, error);
    mysql_close(mysql);
    if (!stats) {
        std::printf("error %s\n", error.c_str());
        return 1;
    }
    std::printf("rows %llu nulls %llu distinct %llu memory %zu weights_ms %lld\n",
                static_cast<unsigned long long>(stats->rows),
                static_cast<unsigned long long>(stats->rows_with_null),
                static_cast<unsigned long long>(stats->distinct_fingerprints), stats->memory_bytes,
                static_cast<long long>(weights_ms));
    return 0;
}
