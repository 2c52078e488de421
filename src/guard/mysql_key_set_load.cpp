#include "guard/mysql_key_set_load.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "guard/mysql_check_sql.hpp"

namespace uniqguard::guard {

namespace {

std::string string_expression(std::string_view s) { return mysql_string_expression(s); }

std::string quote_identifier(std::string_view name) {
    std::string out = "`";
    for (char c : name) {
        if (c == '`') out += '`';
        out += c;
    }
    return out + "`";
}

// Character set and collation names are plain identifiers; anything else is refused before it
// reaches SQL text.
bool plain_name(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
}

std::optional<std::string> from_hex(std::string_view hex) {
    if (hex.size() % 2 != 0) return std::nullopt;
    std::string out(hex.size() / 2, '\0');
    for (std::size_t i = 0; i < out.size(); ++i) {
        unsigned v = 0;
        const auto r = std::from_chars(hex.data() + 2 * i, hex.data() + 2 * i + 2, v, 16);
        if (r.ec != std::errc{} || r.ptr != hex.data() + 2 * i + 2) return std::nullopt;
        out[i] = static_cast<char>(v);
    }
    return out;
}

std::optional<std::uint64_t> number(std::optional<std::string_view> text) {
    if (!text) return std::nullopt;
    std::uint64_t v = 0;
    const auto r = std::from_chars(text->data(), text->data() + text->size(), v);
    if (r.ec != std::errc{}) return std::nullopt;
    return v;
}

// Strings whose weights show a collation the per-character table cannot follow: contractions
// (Czech, Slovak `ch`; Spanish-traditional `ch`, `ll`; Hungarian `cs`, `dz`, `dzs`, `gy`, `ly`,
// `ny`, `sz`, `ty`, `zs`; Croatian `dž`, `lj`, `nj`; Danish `aa`...) and several levels (`ab`:
// all first-level weights come before the second level's).
constexpr std::string_view probes[] = {"ab", "ch",      "Ch",      "ll", "cs", "dz", "dzs", "gy",
                                       "ly", "ny",      "sz",      "ty", "zs", "lj", "nj",  "aa",
                                       "rr", "d\u017e", "\u00e5a", "ij", "th", "ae"};

std::optional<std::shared_ptr<const CollationWeights>> load_weights(MySqlRowSource& db,
                                                                    const std::string& charset,
                                                                    const std::string& collation,
                                                                    std::string& error) {
    const std::string where = "collation " + collation + ": ";
    bool pad_space = false;
    std::string space_check = "SELECT CONVERT('a' USING " + charset + ") COLLATE " + collation +
                              " = CONVERT('a ' USING " + charset + ") COLLATE " + collation;
    if (!db.stream(
            space_check,
            [&](MySqlRow row) {
                pad_space = row.size() == 1 && row[0] == "1";
                return true;
            },
            error))
        return std::nullopt;
    auto weights = std::make_shared<CollationWeights>(pad_space);
    bool bad_row = false;
    if (!db.stream(
            mysql_weights_sql(charset, collation),
            [&](MySqlRow row) {
                const auto cp = number(row.size() == 2 ? row[0] : std::nullopt);
                if (!cp || !row[1]) return !(bad_row = true);
                if (*row[1] == "!") return true;  // the set cannot hold it: no key
                if (*row[1] == "-") {
                    weights->add(static_cast<char32_t>(*cp), "");
                    return true;
                }
                const auto w = from_hex(*row[1]);
                if (!w) return !(bad_row = true);
                weights->add(static_cast<char32_t>(*cp), *w);
                return true;
            },
            error)) {
        if (bad_row) error = where + "the server's weights table cannot be read";
        return std::nullopt;
    }
    if (!weights->finish(error)) {
        error = where + "its weights cannot make keys (" + error + ")";
        return std::nullopt;
    }
    // The table must give every probe the server's own weight.
    for (std::string_view probe : probes) {
        std::string sql = "SELECT HEX(WEIGHT_STRING(CONVERT(" + string_expression(probe) +
                          " USING " + charset + ") COLLATE " + collation + "))";
        std::optional<std::string> server;
        if (!db.stream(
                sql,
                [&](MySqlRow row) {
                    if (row.size() == 1 && row[0]) server = from_hex(*row[0]);
                    return true;
                },
                error))
            return std::nullopt;
        const auto mine = weights->key(probe);
        // A key drops PAD SPACE's trailing spaces; no probe ends with a space.
        if (!server || (mine && *mine != *server)) {
            error = where + "it weighs \"" + std::string(probe) +
                    "\" otherwise than its characters (a contraction, or several levels of "
                    "weights): the proxy cannot compare keys under it";
            return std::nullopt;
        }
    }
    return weights;
}

}  // namespace

std::string mysql_weights_sql(std::string_view charset, std::string_view collation) {
    const std::string cs(charset), co(collation);
    const std::string code = "UNHEX(LPAD(HEX(seq), 8, '0'))";
    const std::string ch = "CONVERT(CONVERT(" + code + " USING utf32) USING " + cs + ")";
    const std::string weight = "WEIGHT_STRING(" + ch + " COLLATE " + co + ")";
    return "SELECT seq, IF(HEX(CONVERT(" + ch +
           " USING utf32)) <> LPAD(HEX(seq), 8, '0'), '!', "
           "IF(" +
           weight + " = '', '-', HEX(" + weight +
           "))) FROM seq_0_to_1114111 "
           "WHERE seq NOT BETWEEN 55296 AND 57343";
}

std::optional<MySqlKeyColumns> read_mysql_key_columns(MySqlRowSource& db, std::string_view schema,
                                                      std::string_view table,
                                                      const std::vector<std::string>& columns,
                                                      CollationWeightsCache& cache,
                                                      std::string& error) {
    std::map<std::string, MySqlColumnInfo> found;
    const std::string sql =
        "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_SET_NAME, COLLATION_NAME, "
        "CHARACTER_MAXIMUM_LENGTH, CHARACTER_OCTET_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, "
        "IS_NULLABLE "
        "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = BINARY " +
        string_expression(schema) + " AND TABLE_NAME = BINARY " + string_expression(table);
    if (!db.stream(
            sql,
            [&](MySqlRow r) {
                if (r.size() != 10 || !r[0] || !r[1] || !r[2]) return false;
                const auto text = [](std::optional<std::string_view> v) {
                    return v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
                };
                found[std::string(*r[0])] = {std::string(*r[1]), std::string(*r[2]), text(r[3]),
                                             text(r[4]),         number(r[5]),       number(r[6]),
                                             number(r[7]),       number(r[8]),       r[9] == "YES"};
                return true;
            },
            error))
        return std::nullopt;
    if (found.empty()) {
        error = "table " + std::string(schema) + "." + std::string(table) + " does not exist";
        return std::nullopt;
    }
    std::vector<MySqlKeyColumns::Column> out;
    for (const auto& name : columns) {
        // Column names compare case-insensitively in MySQL.
        const MySqlColumnInfo* info = nullptr;
        for (const auto& [n, i] : found)
            if (n.size() == name.size() &&
                std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
                    return std::tolower(static_cast<unsigned char>(a)) ==
                           std::tolower(static_cast<unsigned char>(b));
                }))
                info = &i;
        if (info == nullptr) {
            error = "column \"" + name + "\" does not exist in " + std::string(table);
            return std::nullopt;
        }
        std::string why;
        auto type = mysql_key_column_type(*info, why);
        if (!type) {
            error = "column \"" + name + "\": " + why;
            return std::nullopt;
        }
        MySqlKeyColumns::Column column{name, *type, nullptr};
        if (type->kind == MySqlKeyColumnType::Kind::string) {
            if (!plain_name(type->character_set) || !plain_name(type->collation)) {
                error = "column \"" + name + "\": collation " + type->collation +
                        " cannot be named in SQL";
                return std::nullopt;
            }
            auto& cached = cache[type->collation];
            if (!cached) {
                auto weights = load_weights(db, type->character_set, type->collation, error);
                if (!weights) {
                    cache.erase(type->collation);
                    error = "column \"" + name + "\": " + error;
                    return std::nullopt;
                }
                cached = *weights;
            }
            column.weights = cached;
        }
        out.push_back(std::move(column));
    }
    return MySqlKeyColumns(std::move(out));
}

std::optional<MySqlLoadStats> load_mysql_key_set(MySqlRowSource& db, std::string_view schema,
                                                 std::string_view table,
                                                 const MySqlKeyColumns& columns,
                                                 bool nulls_distinct, std::uint64_t seed,
                                                 KeySet& set, std::string& error) {
    std::string select = "SELECT ";
    for (std::size_t i = 0; i < columns.size(); ++i)
        select += (i ? ", " : "") + quote_identifier(columns.column(i).name);
    select += " FROM " + quote_identifier(schema) + "." + quote_identifier(table);
    MySqlKeySetBuilder builder(columns, nulls_distinct, seed, set);
    if (!db.stream(
            select, [&](MySqlRow row) { return builder.add_row(row); }, error)) {
        if (!builder.error().empty()) error = builder.error();
        return std::nullopt;
    }
    return builder.finish();
}

}  // namespace uniqguard::guard
