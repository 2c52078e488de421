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
#include "sql/parse_result.hpp"

namespace uniqguard::proxy {

struct PreparedStatement {
    std::string text;
    std::shared_ptr<const sql::ParseResult> parsed;  // the text, parsed once
    std::uint16_t param_count = 0;
    std::vector<protocol::mysql::ParamType> bound_types;  // from the last execute that bound
    std::vector<bool> long_data;                          // per parameter, until the execute
};

class MySqlPreparedStatements {
  public:
    MySqlPreparedStatements(std::size_t max_statements = 16384,
                            std::size_t max_text_bytes = 16u << 20)
        : max_statements_(max_statements), max_text_bytes_(max_text_bytes) {}

    // COM_STMT_PREPARE with its text and the parse of it, waiting for the server's answer
    // (prepares are answered in order, one at a time).
    void on_prepare(std::string text, std::shared_ptr<const sql::ParseResult> parsed);
    // The server's answer to the oldest prepare: OK (statement id, parameter count) or an error
    // (nullopt).
    void on_prepare_answer(std::optional<std::pair<std::uint32_t, std::uint16_t>> ok);

    // COM_STMT_SEND_LONG_DATA (statement id, parameter).
    void on_send_long_data(std::uint32_t statement, std::uint16_t param);
    // COM_STMT_EXECUTE's payload, decoded with what the statement's prepare and earlier executes
    // left; the long-data flags are spent. nullopt (with `error`) for an unknown statement or a
    // payload the server refuses.
    std::optional<protocol::mysql::StmtExecute> on_execute(util::Bytes payload,
                                                           const PreparedStatement** statement,
                                                           std::string& error);
    // COM_STMT_RESET: the long data is dropped. COM_STMT_CLOSE: the statement is gone.
    void on_reset(std::uint32_t statement);
    void on_close(std::uint32_t statement);
    // COM_RESET_CONNECTION, COM_CHANGE_USER: every statement is gone.
    void clear();

    const PreparedStatement* find(std::uint32_t statement) const;
    std::size_t size() const { return statements_.size(); }

  private:
    std::size_t max_statements_;
    std::size_t max_text_bytes_;
    std::size_t text_bytes_ = 0;
    std::deque<PreparedStatement> pending_;  // prepares sent, not answered yet
    std::unordered_map<std::uint32_t, PreparedStatement> statements_;
};

}  // namespace uniqguard::proxy
