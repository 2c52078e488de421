// A MySQL/MariaDB session's server-side prepared statements, as the guard needs them: each
// statement's text parsed once at COM_STMT_PREPARE (issue 6: "prepared statements analysed once
// at COM_STMT_PREPARE"), its parameter count from the server's PREPARE OK, the types bound at its
// last execute (an execute may bind none and reuse them) and which parameters got their value
// in COM_STMT_SEND_LONG_DATA. Sans-io: the session calls it as the packets pass.
//
// Bounded: at most `max_statements` statements and `max_text_bytes` of their text are kept. A
// statement past the bounds is not kept, and its executes are statements the proxy cannot read,
// which the guard treats as such (never as harmless).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "protocol/mysql/stmt_execute.hpp"
#include "sql/mysql_lexer.hpp"
#include "sql/parse_result.hpp"

namespace uniqguard::proxy {

struct PreparedStatement {
    std::string text;
    std::shared_ptr<const sql::ParseResult> parsed;  // the text, parsed once
    std::uint16_t param_count = 0;
    std::vector<protocol::mysql::ParamType> bound_types;  // from the last execute that bound
    std::vector<bool> long_data;                          // per parameter, until the execute
    // The parameters whose long data is kept, with its bytes so far (a parameter with
    // long_data set and no entry here is past the bounds). Sparse: a statement may have 65,535
    // parameters.
    std::vector<std::pair<std::uint16_t, std::string>> long_values;
    std::string database;       // the session's current database at the prepare (unqualified names)
    sql::MySqlDialect dialect;  // the sql_mode quoting it was read under (its literals, its `?`)
    std::uint64_t settings_version = 0;  // MySqlSessionSettings::version() at the prepare
    // The types in `bound_types` were bound by an execute the proxy did not send (the guard put
    // its own statement in its place): the server does not have them, so the next execute that
    // binds none gets them written in (with_bound_types).
    bool server_lacks_types = false;
    bool followed = true;  // false: a placeholder for a prepare the guard does not keep
};

class MySqlPreparedStatements {
  public:
    MySqlPreparedStatements(std::size_t max_statements = 16384,
                            std::size_t max_text_bytes = 16u << 20)
        : max_statements_(max_statements), max_text_bytes_(max_text_bytes) {}

    // COM_STMT_PREPARE with its text and the parse of it, waiting for the server's answer
    // (prepares are answered in order, one at a time).
    void on_prepare(std::string text, std::shared_ptr<const sql::ParseResult> parsed,
                    std::string database = {}, sql::MySqlDialect dialect = {},
                    std::uint64_t settings_version = 0);
    // COM_STMT_PREPARE of a statement the guard does not follow: its answer is not kept (its
    // executes are then of a statement the proxy does not know).
    void on_prepare_unfollowed();
    // Whether a statement of `text_bytes` more would be kept (the bounds, counting the prepares
    // not answered yet).
    bool has_room(std::size_t text_bytes) const;
    // The server's answer to the oldest prepare: OK (statement id, parameter count) or an error
    // (nullopt).
    void on_prepare_answer(std::optional<std::pair<std::uint32_t, std::uint16_t>> ok);

    // COM_STMT_SEND_LONG_DATA (statement id, parameter, the chunk of its value). The bytes are
    // kept up to max_long_value_bytes per parameter and max_long_bytes in all, each kept
    // parameter counting long_entry_bytes more (a key value is short; a blob's chunks past the
    // bounds are only marked).
    void on_send_long_data(std::uint32_t statement, std::uint16_t param, util::Bytes data = {});
    static constexpr std::size_t max_long_value_bytes = 64u << 10;
    static constexpr std::size_t max_long_bytes = 1u << 20;
    static constexpr std::size_t long_entry_bytes = 64;
    using LongValues = std::vector<std::pair<std::uint16_t, std::string>>;
    // COM_STMT_EXECUTE's payload, decoded with what the statement's prepare and earlier executes
    // left; the long data is spent: the kept values move to `long_values` (per parameter) and
    // the parameters' `value` points into them (long_data_kept). nullopt (with `error`) for an
    // unknown statement or a payload the server refuses.
    std::optional<protocol::mysql::StmtExecute> on_execute(util::Bytes payload,
                                                           const PreparedStatement** statement,
                                                           std::string& error,
                                                           LongValues* long_values = nullptr);
    // COM_STMT_RESET: the long data is dropped. COM_STMT_CLOSE: the statement is gone.
    void on_reset(std::uint32_t statement);
    void on_close(std::uint32_t statement);
    // COM_RESET_CONNECTION, COM_CHANGE_USER: every statement is gone (the prepares not answered
    // yet are not kept either).
    void clear();
    // MariaDB's statement id 0xFFFFFFFF: the statement of the last prepare. `unanswered`: the
    // last prepare is not answered yet, and it is one the guard follows.
    std::optional<std::uint32_t> last_prepared(bool& unanswered) const;
    // The last prepare answered failed: MariaDB's -1 then names no statement the proxy knows.
    bool last_prepare_failed() const { return last_failed_; }
    // Some prepare the guard follows is not answered yet (its id is not known).
    bool followed_unanswered() const;
    // The prepares taken as unanswered are not kept (the server owes nothing).
    void forget_unanswered() { pending_.clear(); }
    PreparedStatement* find_mutable(std::uint32_t statement);

    const PreparedStatement* find(std::uint32_t statement) const;
    std::size_t size() const { return statements_.size(); }

  private:
    std::size_t max_statements_;
    std::size_t max_text_bytes_;
    std::size_t text_bytes_ = 0;
    std::size_t long_bytes_ = 0;  // long data kept, all statements
    // The statement's long data is spent (execute, reset, close).
    void drop_long_data(PreparedStatement& s) { take_long_data(s); }
    // The statement's kept long data, handed over (its bytes no longer counted) and forgotten:
    // what an execute spends and what a reset or close drops.
    LongValues take_long_data(PreparedStatement& s);
    std::deque<PreparedStatement> pending_;  // prepares sent, not answered yet
    std::unordered_map<std::uint32_t, PreparedStatement> statements_;
    std::optional<std::uint32_t> last_id_;
    bool last_failed_ = false;
};

// COM_STMT_EXECUTE's payload with its new-params-bound flag set and `types` written after it
// (for an execute that binds none when the server lacks the types: PreparedStatement::
// server_lacks_types). `execute`: the decoded payload.
std::string mysql_execute_with_types(util::Bytes payload,
                                     const protocol::mysql::StmtExecute& execute,
                                     const std::vector<protocol::mysql::ParamType>& types);

}  // namespace uniqguard::proxy
