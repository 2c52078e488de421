// Private to the MySQL parser (src/sql/mysql_parser.cpp, src/sql/mysql/*.cpp): one statement's
// tokens and the small walking helpers every statement reader uses.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "sql/mysql_lexer.hpp"
#include "sql/statement.hpp"

namespace uniqguard::sql::mysql {

// ASCII letters folded to lower case (names, character set names); other bytes kept.
inline std::string lower_ascii(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

class Context {
  public:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    // `tokens[first, last)` is the statement; `parameter_before[i]` counts the `?` tokens of
    // the whole string before token i.
    Context(std::string_view sql, const MySqlDialect& dialect,
            const std::vector<MySqlToken>& tokens, const std::vector<int>& parameter_before,
            std::size_t first, std::size_t last)
        : sql_(sql),
          dialect_(dialect),
          tokens_(tokens),
          parameter_before_(parameter_before),
          first_(first),
          last_(last) {}

    // The same statement seen from token i on (SET STATEMENT ... FOR, ANALYZE: the statement
    // that runs).
    Context from(std::size_t i) const {
        return Context(sql_, dialect_, tokens_, parameter_before_, i, last_);
    }

    std::string_view sql() const { return sql_; }
    const std::vector<MySqlToken>& tokens() const { return tokens_; }
    const std::vector<int>& parameters() const { return parameter_before_; }
    const MySqlDialect& dialect() const { return dialect_; }
    std::size_t first() const { return first_; }
    std::size_t end() const { return last_; }  // one past the statement's last token
    bool at_end(std::size_t i) const { return i >= last_; }

    const MySqlToken& token(std::size_t i) const { return tokens_[i]; }
    std::string_view text(std::size_t i) const { return token_text(sql_, tokens_[i]); }
    bool kind_is(std::size_t i, MySqlTokenKind k) const {
        return i < last_ && tokens_[i].kind == k;
    }
    bool word(std::size_t i, std::string_view lower_word) const {
        return i < last_ && is_word(sql_, tokens_[i], lower_word);
    }
    bool symbol(std::size_t i, std::string_view s) const {
        return i < last_ && is_symbol(sql_, tokens_[i], s);
    }
    bool is_name(std::size_t i) const {
        return kind_is(i, MySqlTokenKind::identifier) ||
               kind_is(i, MySqlTokenKind::quoted_identifier);
    }
    std::string name(std::size_t i) const { return identifier_name(text(i), tokens_[i].kind); }
    int parameter_number(std::size_t i) const { return parameter_before_[i] + 1; }

    // Tokens a..b inclusive as a byte range.
    SourceRange range(std::size_t a, std::size_t b) const {
        return {tokens_[a].offset, tokens_[b].end() - tokens_[a].offset};
    }

    // At `(`: the index after its matching `)`; npos when it is never closed.
    std::size_t skip_group(std::size_t i) const;
    // The first token from i (at nesting depth 0, before `to`) that is the word `lower_word`;
    // npos when none.
    std::size_t find_word(std::size_t i, std::size_t to, std::string_view lower_word) const;
    // The depth-0 items of [from, to) split at commas, as [begin, end) token pairs.
    std::vector<std::pair<std::size_t, std::size_t>> split_commas(std::size_t from,
                                                                  std::size_t to) const;
    // A name of one to three parts (db.t.c): the index after it, npos when there is no name at
    // i. `parts` gets the parts as the server spells them.
    std::size_t dotted_name(std::size_t i, std::vector<std::string>& parts) const;

  private:
    std::string_view sql_;
    const MySqlDialect& dialect_;
    const std::vector<MySqlToken>& tokens_;
    const std::vector<int>& parameter_before_;
    std::size_t first_;
    std::size_t last_;
};

// The value written in tokens [from, to): a literal, NULL, DEFAULT, TRUE / FALSE, a `?`, or an
// expression with a note.
Value read_value(const Context& ctx, std::size_t from, std::size_t to);

// `col = value, ...` in [from, to). False (with `why`) when an item is not of that shape.
bool read_assignments(const Context& ctx, std::size_t from, std::size_t to,
                      std::vector<Assignment>& out, std::string& why);

// One reader per statement kind; `ctx.first()` is the statement's first word.
Statement::Body read_insert(const Context& ctx);
Statement::Body read_update(const Context& ctx);
Statement::Body read_delete(const Context& ctx);
Statement::Body read_truncate(const Context& ctx);
Statement::Body read_drop(const Context& ctx);
Statement::Body read_transaction(const Context& ctx);
Statement::Body read_set(const Context& ctx);

// "insert_stmt" etc.: the OtherStatement name for a statement starting at token i.
std::string node_name(const Context& ctx, std::size_t i);

}  // namespace uniqguard::sql::mysql
