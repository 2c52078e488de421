#include "proxy/mysql_session_settings.hpp"

namespace uniqguard::proxy {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

}  // namespace

guard::ClientCharset client_charset_of_collation_id(std::uint8_t id) {
    // MariaDB's and MySQL's collation ids: utf8mb4 45, 46, 224-247 (and MySQL 8's 255,
    // utf8mb4_0900_ai_ci); utf8mb3 33, 83, 192-215, 223.
    if (id == 45 || id == 46 || (id >= 224 && id <= 247) || id == 255)
        return guard::ClientCharset::utf8mb4;
    if (id == 33 || id == 83 || (id >= 192 && id <= 215) || id == 223)
        return guard::ClientCharset::utf8mb3;
    return guard::ClientCharset::other;
}

bool lexer_reads_collation_id(std::uint8_t id) {
    // big5 1, 84; sjis 13, 88; gbk 28, 87; cp932 95, 96; gb18030 248-250 (MySQL 8).
    for (const std::uint8_t multibyte_with_0x5c : {1, 84, 13, 88, 28, 87, 95, 96, 248, 249, 250})
        if (id == multibyte_with_0x5c) return false;
    return true;
}

bool lexer_reads_charset_named(std::string_view name) {
    const std::string n = lower(name);
    for (std::string_view multibyte_with_0x5c : {"big5", "sjis", "gbk", "cp932", "gb18030"})
        if (n == multibyte_with_0x5c) return false;
    return !n.empty();
}

guard::ClientCharset client_charset_named(std::string_view name) {
    const std::string n = lower(name);
    if (n == "utf8mb4") return guard::ClientCharset::utf8mb4;
    // `utf8` is utf8mb3 on MariaDB 10.11 (unless old_mode UTF8_IS_UTF8MB3 is off) and on MySQL
    // 8.0: both read it as utf8mb3 here, which keys fewer strings, never wrongly.
    if (n == "utf8mb3" || n == "utf8") return guard::ClientCharset::utf8mb3;
    return guard::ClientCharset::other;
}

MySqlSessionSettings::MySqlSessionSettings(std::uint8_t collation_id, sql::MySqlDialect server,
                                           std::string global_sql_mode)
    : login_charset_(client_charset_of_collation_id(collation_id)),
      login_text_readable_(lexer_reads_collation_id(collation_id)),
      server_(server),
      global_sql_mode_(std::move(global_sql_mode)) {
    reset();
}

void MySqlSessionSettings::reset() {
    ++version_;
    charset_ = login_charset_;
    text_readable_ = login_text_readable_;
    dialect_ = server_;
    sql::apply_sql_mode(dialect_, global_sql_mode_);
    sql_mode_known_ = true;
}

void MySqlSessionSettings::apply(const sql::SetStatement& set) {
    const bool to_default = set.kind == sql::SetStatement::Kind::set_default;
    if (set.name == "names" || set.name == "sql_mode" || set.name.starts_with("character_set") ||
        set.name.starts_with("collation"))
        ++version_;
    if (set.name == "names" || set.name == "character_set_client") {
        // SET NAMES DEFAULT / = DEFAULT: the server's default character set, which the proxy
        // does not follow; an expression: unknown. Both leave strings to the server.
        charset_ = to_default || set.value.empty() ? guard::ClientCharset::other
                                                   : client_charset_named(set.value);
        text_readable_ = !to_default && lexer_reads_charset_named(set.value);
    } else if (set.name == "sql_mode") {
        dialect_ = server_;
        if (to_default) {
            sql::apply_sql_mode(dialect_, global_sql_mode_);
            sql_mode_known_ = true;
        } else if (set.values.size() == 1 && set.values[0].is_literal()) {
            sql::apply_sql_mode(dialect_, set.value);
            sql_mode_known_ = true;
        } else if (set.values.size() == 1 && !set.value.empty()) {
            sql::apply_sql_mode(dialect_, set.value);  // an unquoted word: SET sql_mode = ANSI
            sql_mode_known_ = true;
        } else {
            sql_mode_known_ = false;
        }
    }
}

void MySqlSessionSettings::apply_other_set(std::string_view text) {
    const std::string t = lower(text);
    for (std::string_view word : {"character", "charset", "names", "collation", "sql_mode"})
        if (t.find(word) != std::string::npos) ++version_;
    for (std::string_view word : {"character", "charset", "names", "collation"})
        if (t.find(word) != std::string::npos) {
            charset_ = guard::ClientCharset::other;
            text_readable_ = false;  // which one is not known
        }
    if (t.find("sql_mode") != std::string::npos) sql_mode_known_ = false;
}

}  // namespace uniqguard::proxy
