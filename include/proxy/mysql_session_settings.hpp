// What a MySQL/MariaDB session's later statements are read under, followed from what the client
// does: the client's character set (the handshake's collation id, then SET NAMES / SET
// CHARACTER SET / SET character_set_client) and sql_mode's quoting rules (SET sql_mode, from
// the server's global sql_mode at connect). The guard reads literals with it: a string from a
// client in another character set, or under an sql_mode the proxy no longer knows (SET
// sql_mode = CONCAT(...)), is left to the server.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "guard/mysql_string_key.hpp"
#include "sql/mysql_lexer.hpp"
#include "sql/statement.hpp"

namespace uniqguard::proxy {

// The character set of a handshake's collation id (the one byte of HandshakeResponse41):
// utf8mb4, utf8mb3 or other.
guard::ClientCharset client_charset_of_collation_id(std::uint8_t id);
guard::ClientCharset client_charset_named(std::string_view name);
// Whether the MySQL lexer reads text in that character set as the server does: false for big5,
// sjis, gbk, cp932 and gb18030, whose multibyte characters may end in a 0x5C (backslash) byte
// that the lexer would take for an escape (sql/mysql_lexer.hpp), and for a name not given.
bool lexer_reads_collation_id(std::uint8_t id);
bool lexer_reads_charset_named(std::string_view name);

class MySqlSessionSettings {
  public:
    // At login: the handshake's collation id, the server's dialect (its version) and the global
    // sql_mode new sessions start with.
    MySqlSessionSettings(std::uint8_t collation_id, sql::MySqlDialect server,
                         std::string global_sql_mode);

    // A SET the session ran (the server accepted it: call after its OK).
    void apply(const sql::SetStatement& set);
    // A SET the parser did not read as one session variable (SET CHARACTER SET x, several
    // variables at once, SET STATEMENT ... FOR): when its text mentions the client's character
    // set or sql_mode, both become unknown (strings and the quoting rules left to the server).
    void apply_other_set(std::string_view text);
    // COM_RESET_CONNECTION or COM_CHANGE_USER: back to the login's settings.
    void reset();

    guard::ClientCharset client_charset() const { return charset_; }
    // The client's text reads as the lexer reads it (lexer_reads_charset_named): otherwise a
    // statement could hide a write inside what the lexer takes for a string.
    bool text_readable() const { return text_readable_; }
    // The dialect to parse this session's statements with; `sql_mode_known` false when a SET
    // gave sql_mode a value the proxy could not read.
    const sql::MySqlDialect& dialect() const { return dialect_; }
    bool sql_mode_known() const { return sql_mode_known_; }
    // Counts the changes of what the server reads a statement's text under (sql_mode, the
    // character sets and collations, a reset): a prepared statement's text read again later
    // (the check of a prepared UPDATE) reads as at its prepare only while this is unchanged.
    std::uint64_t version() const { return version_; }

  private:
    guard::ClientCharset login_charset_;
    bool login_text_readable_ = true;
    sql::MySqlDialect server_;
    std::string global_sql_mode_;
    guard::ClientCharset charset_;
    bool text_readable_ = true;
    sql::MySqlDialect dialect_;
    bool sql_mode_known_ = true;
    std::uint64_t version_ = 0;
};

}  // namespace uniqguard::proxy
