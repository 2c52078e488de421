// The one place that includes libpg_query (STYLE.md: later versions changed the protobuf
// runtime). Only the files of src/sql/postgres/ and src/sql/postgres_parser.cpp include this
// header; nothing outside src/sql/ sees a libpg_query type. Changing libpg_query versions means
// changing the includes here and the node field names in the transform_*.cpp files.
//
// The transforms follow DuckDB's transform_<kind>.cpp layout: one file per statement kind,
// turning libpg_query's tree into our model. They never guess: a shape they do not understand
// becomes an `expression` value or an OtherStatement, with a note.
#pragma once

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sql/pg_lexer.hpp"
#include "sql/statement.hpp"

namespace uniqguard::sql::postgres {

using Node = PgQuery__Node;

// What a transform sees besides the tree: the whole text that was parsed and the tokens of the
// statement being transformed. libpg_query gives only start locations; where a value, a WHERE
// condition or a RETURNING list ends is found by walking these tokens.
class Context {
  public:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    Context(std::string_view sql, std::span<const Token> tokens) : sql_(sql), tokens_(tokens) {}

    std::string_view sql() const { return sql_; }
    std::size_t size() const { return tokens_.size(); }

    // The index of the token that starts at `location`; npos when none does.
    std::size_t token_at(int location) const;
    bool word(std::size_t i, std::string_view lower_word) const;
    bool symbol(std::size_t i, std::string_view text) const;
    bool kind_is(std::size_t i, TokenKind k) const;
    // From the start of token `first` to the end of token `last` (inclusive); unknown when
    // either is out of range.
    SourceRange range(std::size_t first, std::size_t last) const;
    // Token i is ( or [: the index just after the matching bracket; npos when unbalanced.
    std::size_t skip_group(std::size_t i) const;
    // The first token at or after `from` spelled `lower_word` at bracket depth 0 relative to
    // `from`; npos when there is none (or when an unmatched closing bracket comes first).
    std::size_t find_word(std::size_t from, std::string_view lower_word) const;
    // Where the expression starting at token `from` ends: the index of the first token at depth
    // 0 that is `,`, an unmatched `)` or `]`, `;`, or (with clause_words) WHERE, FROM (not that
    // of IS DISTINCT FROM) or RETURNING. size() when the statement ends first.
    std::size_t expression_end(std::size_t from, bool clause_words) const;
    // Token i is `(`: the ranges of the comma-separated items up to the matching `)`, and the
    // index after it in `next`. Empty result and next == npos when the tokens do not fit.
    std::vector<SourceRange> split_list(std::size_t i, std::size_t& next) const;

  private:
    std::string_view sql_;
    std::span<const Token> tokens_;
};

// libpg_query strings are never null in practice (protobuf-c uses an empty default), but a
// null is read as empty rather than trusted.
inline std::string_view str(const char* s) { return s == nullptr ? std::string_view{} : s; }

QualifiedName qualified_name(const PgQuery__RangeVar* rv);
std::string alias_of(const PgQuery__RangeVar* rv);
// A list of String nodes (DROP TABLE's object names, a type's name): the last two parts.
QualifiedName qualified_name(Node* const* items, std::size_t n);
TypeRef type_ref(const PgQuery__TypeName* tn);
// The value of a DefElem argument (or any constant node) as text: "csv", "true", "a,b", "*".
std::string node_text(const Node* n);
// libpg_query's name for a node kind: "select_stmt", "func_call".
std::string node_name(const Node* n);

// A value expression, `whole` being its range in the text.
Value transform_value(const Node* node, const Context& ctx, SourceRange whole);
// UPDATE's SET list and ON CONFLICT DO UPDATE's SET list.
std::vector<Assignment> transform_assignments(Node* const* targets, std::size_t n,
                                              const Context& ctx);
// The range after the RETURNING keyword (searched from token `from`) to the statement's end.
SourceRange returning_range(const Context& ctx, std::size_t from);
// The condition after WHERE (searched from token `from`) up to RETURNING or the end.
SourceRange where_range(const Context& ctx, std::size_t from);
// The column names of a list of ResTarget nodes (INSERT's and COPY's column lists); sets
// `indirection` when one names part of a column.
std::vector<std::string> column_names(Node* const* items, std::size_t n, bool* indirection);
// The index of the relation's first token, for clause searches; 0 when it cannot be placed.
std::size_t relation_token(const Context& ctx, const PgQuery__RangeVar* rv);

// One per statement kind; each in its own transform_<kind>.cpp.
Statement::Body transform_insert(const PgQuery__InsertStmt& stmt, const Context& ctx);
Statement::Body transform_update(const PgQuery__UpdateStmt& stmt, const Context& ctx);
Statement::Body transform_delete(const PgQuery__DeleteStmt& stmt, const Context& ctx);
Statement::Body transform_truncate(const PgQuery__TruncateStmt& stmt);
Statement::Body transform_alter_table(const PgQuery__AlterTableStmt& stmt);
Statement::Body transform_alter_object_schema(const PgQuery__AlterObjectSchemaStmt& stmt);
Statement::Body transform_drop(const PgQuery__DropStmt& stmt);
Statement::Body transform_rename(const PgQuery__RenameStmt& stmt);
Statement::Body transform_create_index(const PgQuery__IndexStmt& stmt);
Statement::Body transform_copy(const PgQuery__CopyStmt& stmt);
Statement::Body transform_merge(const PgQuery__MergeStmt& stmt);
Statement::Body transform_transaction(const PgQuery__TransactionStmt& stmt);
Statement::Body transform_set(const PgQuery__VariableSetStmt& stmt, const Context& ctx);

// Dispatch on the node kind. EXPLAIN ANALYZE is unwrapped (it runs its statement) and sets
// `explain_analyze`.
Statement::Body transform_statement(const Node* node, const Context& ctx, bool& explain_analyze);

}  // namespace uniqguard::sql::postgres
