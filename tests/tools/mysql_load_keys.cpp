// A MySQL/MariaDB guard's key columns read the way the proxy is to (guard/mysql_key_set_load),
// over MariaDB Connector/C, for tests/integration/test_mysql_key_set_load.py and
// test_mysql_insert_keys.py.
//
//   mysql_load_keys SOCKET USER DATABASE TABLE MODE COLUMN...
//     load        loads the key set; prints "rows R nulls N distinct D memory M weights_ms W"
//     statements  reads statements on stdin (one per line, as hex), parses each with the MySQL
//                 parser and prints a line per statement: the encoded key (hex) of each of its
//                 rows, "-" for a row not keyed, or "none <why>"
//     stored      prints "<id> <encoded key in hex, or ->" for each row of the table
//                 (`SELECT id, COLUMN... ORDER BY id`)
// or "error <message>" (exit 1).
#include <mysql.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "guard/key_fingerprint.hpp"
#include "guard/mysql_insert_keys.hpp"
#include "guard/mysql_key_set_load.hpp"
#include "hex.hpp"
#include "sql/mysql_parser.hpp"

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

// The encoded key of a row's parts, or nullopt when one cannot be keyed.
std::optional<std::string> encode(const std::vector<NormalizedValue>& parts) {
    std::string key;
    for (const auto& part : parts) {
        if (part.status == NormalizeStatus::null) {
            append_key_null(key);
        } else if (!append_key_part(key, part)) {
            return std::nullopt;
        }
    }
    return key;
}

int print_statement_keys(ConnectorSource& db, const std::string& schema, const std::string& table,
                         const MySqlKeyColumns& keys) {
    std::vector<std::string> table_columns;
    std::string error;
    if (!db.stream(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '" + schema +
                "' AND TABLE_NAME = '" + table + "' ORDER BY ORDINAL_POSITION",
            [&](MySqlRow row) {
                table_columns.emplace_back(*row[0]);
                return true;
            },
            error)) {
        std::printf("error %s\n", error.c_str());
        return 1;
    }
    std::string line;
    while (std::getline(std::cin, line)) {
        const std::string sql = uniqguard::tools::from_hex(line);
        const auto parsed = uniqguard::sql::parse_mysql(sql);
        const uniqguard::sql::InsertStatement* insert =
            parsed && parsed.statements.size() == 1
                ? parsed.statements[0].get<uniqguard::sql::InsertStatement>()
                : nullptr;
        if (insert == nullptr) {
            std::printf("none not one INSERT\n");
            continue;
        }
        std::string why;
        const auto rows =
            mysql_insert_row_keys(*insert, sql, table_columns, keys, ClientCharset::utf8mb4, why);
        if (!rows) {
            std::printf("none %s\n", why.c_str());
            continue;
        }
        std::string out;
        for (const auto& row : *rows) {
            const auto key = encode(row);
            out += (out.empty() ? "" : " ") + (key ? uniqguard::tools::to_hex(*key) : "-");
        }
        std::printf("%s\n", out.c_str());
    }
    return 0;
}

int print_stored_keys(ConnectorSource& db, const std::string& table, const MySqlKeyColumns& keys) {
    std::string select = "SELECT id";
    for (std::size_t i = 0; i < keys.size(); ++i) select += ", `" + keys.column(i).name + "`";
    select += " FROM `" + table + "` ORDER BY id";
    std::string error;
    const bool ok = db.stream(
        select,
        [&](MySqlRow row) {
            std::vector<NormalizedValue> parts;
            for (std::size_t i = 0; i < keys.size(); ++i)
                parts.push_back(keys.stored_key(i, row[i + 1]));
            const auto key = encode(parts);
            std::printf("%s %s\n", std::string(*row[0]).c_str(),
                        key ? uniqguard::tools::to_hex(*key).c_str() : "-");
            return true;
        },
        error);
    if (!ok) std::printf("error %s\n", error.c_str());
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 7) {
        std::fprintf(stderr, "usage: mysql_load_keys SOCKET USER DATABASE TABLE MODE COLUMN...\n");
        return 2;
    }
    // Closed on every way out (the sanitizer build checks for leaks at exit).
    std::unique_ptr<MYSQL, decltype(&mysql_close)> connection(mysql_init(nullptr), &mysql_close);
    MYSQL* mysql = connection.get();
    if (!mysql_real_connect(mysql, nullptr, argv[2], nullptr, argv[3], 0, argv[1], 0) ||
        mysql_set_character_set(mysql, "utf8mb4") != 0) {
        std::printf("error %s\n", mysql_error(mysql));
        return 1;
    }
    ConnectorSource source(mysql);
    const std::string mode = argv[5];
    std::vector<std::string> columns(argv + 6, argv + argc);
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
    if (mode == "statements") return print_statement_keys(source, argv[3], argv[4], *keys);
    if (mode == "stored") return print_stored_keys(source, argv[4], *keys);
    KeySet set;
    const auto stats = load_mysql_key_set(source, argv[3], argv[4], *keys, true, 0, set, error);
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
