// The dialect-neutral statement model: what the guard needs to know about one SQL statement, in
// our own types. The PostgreSQL adapter (postgres_parser.hpp) fills it from libpg_query's tree;
// a MySQL parser will fill the same structs. Nothing here evaluates an expression: a value the
// proxy cannot read from the text (a function call, a column, a subquery...) is an `expression`
// with a note saying what it was, never a guess.
//
// Every SourceRange is a byte range in the string that was parsed (the whole multi-statement
// string, not the one statement), so that later code can cut or rewrite the text. An unknown
// range (the adapter could not place it) has offset == SourceRange::npos.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace uniqguard::sql {

struct SourceRange {
    static constexpr std::size_t npos = std::numeric_limits<std::size_t>::max();
    std::size_t offset = npos;
    std::size_t length = 0;

    bool known() const { return offset != npos; }
    std::size_t end() const { return offset + length; }
    // The text of the range in `sql` (the string that was parsed); empty when unknown.
    std::string_view text(std::string_view sql) const {
        return known() && end() <= sql.size() ? sql.substr(offset, length) : std::string_view{};
    }
    bool operator==(const SourceRange&) const = default;
};

// An identifier pair as the server resolves it: unquoted parts are folded to lower case, quoted
// parts are kept as written. `schema` is empty when the name was not qualified. MySQL: `schema`
// is the database, and both parts are kept as written, quoted or not (whether the server folds
// them depends on its lower_case_table_names, which the parser does not know).
struct QualifiedName {
    std::string schema;
    std::string name;

    std::string to_string() const { return schema.empty() ? name : schema + "." + name; }
    bool operator==(const QualifiedName&) const = default;
};

// An explicit cast's target type as libpg_query reports it: SQL-standard spellings are already
// mapped (`int` -> int4, `timestamp with time zone` -> timestamptz, `char(3)` -> bpchar);
// `schema` is "pg_catalog" for those, empty for a type written without a schema.
struct TypeRef {
    QualifiedName name;
    std::vector<std::string> typmods;  // numeric(10,2) -> {"10", "2"}
    int array_dims = 0;                // int4[] -> 1

    // "int4", "numeric(10,2)", "myschema.mytype", "int4[]" (pg_catalog is left out).
    std::string to_string() const;
    bool operator==(const TypeRef&) const = default;
};

enum class ValueKind {
    literal_string,  // text: the contents, unescaped as the server read them
    literal_number,  // text: as the server read it ("-5", "1.50", "1e3", "2147483648")
    literal_bool,    // text: "true" / "false"
    null,            // NULL (possibly cast)
    parameter,       // $n; `parameter` is n (1-based)
    default_,        // DEFAULT
    expression,      // anything else; `note` says what; never evaluated
};

std::string_view to_string(ValueKind k);

// MySQL only: how a literal_string was written. Hex (X'41', 0x41) and bit (b'1', 0b1) literals
// are binary strings whose decoded bytes are in `text`; the server reads them as a number in a
// numeric context (0x41 + 0 = 65, into an INT column 65), so a later step needs to know.
enum class LiteralForm : std::uint8_t { quoted, hex, bit };

struct Value {
    ValueKind kind = ValueKind::expression;
    std::string text;
    int parameter = 0;
    // Explicit casts, innermost first: '1'::text::int4 -> {text, int4}; int '5' -> {int4}.
    std::vector<TypeRef> casts;
    // True for every expression: the proxy does not know what it evaluates to, nor whether it
    // gives the same answer twice.
    bool volatile_or_unknown = false;
    // For expressions: "function call", "column reference", "operator expression"... Always a
    // string literal with static storage.
    std::string_view note;
    // The whole value as written: `'2'::int`, `CAST('x' AS uuid)`, `now()`.
    SourceRange range;
    // The literal or parameter token(s) inside it: `'2'`, `-5` (sign included), `$1`. For NULL,
    // true/false and DEFAULT the keyword; for expressions the same as `range`.
    SourceRange literal;
    // MySQL only: the character set introducer written before a string or hex/bit literal, in
    // lower case without its underscore (_utf8mb4'x' -> "utf8mb4", _binary X'41' -> "binary");
    // N'x' gives "utf8mb3", the server's national character set. Empty when none was written.
    // The bytes in `text` are the same either way: an introducer says how the server reads them.
    std::string charset_introducer;
    LiteralForm form = LiteralForm::quoted;

    // An expression the proxy does not evaluate (`note` says what it is), spanning `whole`.
    static Value expression_of(std::string_view note, SourceRange whole) {
        Value v;
        v.kind = ValueKind::expression;
        v.volatile_or_unknown = true;
        v.note = note;
        v.range = whole;
        v.literal = whole;
        return v;
    }

    bool is_literal() const {
        return kind == ValueKind::literal_string || kind == ValueKind::literal_number ||
               kind == ValueKind::literal_bool;
    }
    bool operator==(const Value&) const = default;
};

// `column = value` in UPDATE ... SET and ON CONFLICT ... DO UPDATE SET.
struct Assignment {
    std::string column;
    // SET a[1] = .., SET comp.field = ..: only part of the column is assigned.
    bool indirection = false;
    Value value;
    SourceRange target;  // the column name as written
    bool operator==(const Assignment&) const = default;
};

// PostgreSQL's ON CONFLICT, and MySQL's ON DUPLICATE KEY UPDATE (action
// on_duplicate_key_update, `assignments` only: MySQL names no conflict target).
struct OnConflict {
    enum class Action { none, do_nothing, do_update, on_duplicate_key_update };
    Action action = Action::none;
    // ON CONFLICT (a, b): the inference columns. Empty for a bare ON CONFLICT and for
    // ON CONFLICT ON CONSTRAINT.
    std::vector<std::string> target_columns;
    // An inference element that is not a plain column (an expression, a COLLATE or an operator
    // class): the target cannot be compared with a guard's columns. `target_note` says why.
    bool target_unsupported = false;
    std::string_view target_note;
    std::string constraint;               // ON CONFLICT ON CONSTRAINT name
    bool has_target_where = false;        // ON CONFLICT (a) WHERE pred (partial index inference)
    std::vector<Assignment> assignments;  // DO UPDATE SET
    bool has_update_where = false;        // DO UPDATE SET ... WHERE
    bool operator==(const OnConflict&) const = default;
};

enum class Overriding { none, system_value, user_value };

struct InsertStatement {
    QualifiedName table;
    std::string alias;
    // Empty: no column list was given, the values follow the table's column order.
    std::vector<std::string> columns;
    bool column_indirection = false;  // INSERT INTO t (a[1], b.c): part of a column
    // VALUES rows; the server reports ragged rows at analysis, they are not refused here.
    std::vector<std::vector<Value>> rows;
    bool select_source = false;   // INSERT ... SELECT, or VALUES with ORDER BY/LIMIT/...
    bool default_values = false;  // INSERT ... DEFAULT VALUES
    bool has_with = false;        // WITH ... INSERT (possibly writable CTEs)
    Overriding overriding = Overriding::none;
    OnConflict on_conflict;
    bool returning = false;
    SourceRange returning_list;  // after the RETURNING keyword, to the end of the statement
    // MySQL only: REPLACE [INTO] (the existing row with the same key is deleted first), and
    // INSERT IGNORE (every error, a duplicate key included, becomes a warning; the row is
    // skipped). INSERT ... SET a = 1, b = 2 is one row with `columns` {a, b}.
    bool replace = false;
    bool ignore = false;
    // MySQL only: per row of `rows`, its text, so that rows can be cut out of the statement
    // (action "ignore" drops duplicate rows): a VALUES row from its `(` (or `ROW`) to its `)`;
    // the SET form's one row from the first assignment to the last.
    std::vector<SourceRange> row_ranges;
    // MySQL only: the table's name as written (so that a staged INSERT … SELECT can send the
    // client's statement into another table), and whether a PARTITION list follows it.
    SourceRange table_name;
    bool partition = false;
    bool qualified_columns = false;  // a column list item written as t.col
    bool operator==(const InsertStatement&) const = default;
};

struct UpdateStatement {
    QualifiedName table;
    std::string alias;
    bool only = false;  // UPDATE ONLY t
    // SET (a, b) = (1, 2) is expanded to a = 1, b = 2; SET (a, b) = (SELECT ...) gives two
    // expressions.
    std::vector<Assignment> assignments;
    bool has_where = false;
    bool where_current_of = false;  // WHERE CURRENT OF cursor
    SourceRange where;              // the condition after WHERE
    // MySQL: a multi-table UPDATE (t1, t2 or a JOIN) sets this too; `table` is then the first
    // table named.
    bool has_from = false;
    // PostgreSQL: the FROM list's text (after FROM, before WHERE / RETURNING); unknown when the
    // tokens did not show where it starts.
    SourceRange from_list;
    bool has_with = false;
    bool returning = false;
    SourceRange returning_list;
    bool ignore = false;          // MySQL UPDATE IGNORE
    bool order_or_limit = false;  // MySQL: ORDER BY or LIMIT after SET / WHERE
    // MySQL: the assignments' text (after SET, before WHERE / ORDER BY / LIMIT), so that a
    // staged check can run them on other rows; and whether the table has a PARTITION list.
    SourceRange set_list;
    bool partition = false;
    bool operator==(const UpdateStatement&) const = default;
};

struct DeleteStatement {
    QualifiedName table;
    std::string alias;
    bool only = false;
    bool has_where = false;
    bool where_current_of = false;
    SourceRange where;
    bool has_using = false;
    bool has_with = false;
    bool returning = false;
    SourceRange returning_list;
    bool operator==(const DeleteStatement&) const = default;
};

struct TruncateStatement {
    std::vector<QualifiedName> tables;
    bool restart_identity = false;
    bool cascade = false;
    bool operator==(const TruncateStatement&) const = default;
};

// ALTER TABLE (also ALTER TABLE ... SET SCHEMA). `commands` names each sub-command as
// libpg_query does without its prefix: "AddColumn", "DropColumn", "AddConstraint",
// "AlterColumnType", "ChangeOwner"..., or "SetSchema".
struct AlterTableStatement {
    QualifiedName table;
    std::vector<std::string> commands;
    std::string new_schema;  // SetSchema
    bool if_exists = false;
    bool operator==(const AlterTableStatement&) const = default;
};

struct DropTableStatement {
    std::vector<QualifiedName> tables;
    bool if_exists = false;
    bool cascade = false;
    bool operator==(const DropTableStatement&) const = default;
};

// ALTER TABLE ... RENAME [COLUMN | CONSTRAINT] (and ALTER INDEX ... RENAME of an index, whose
// `table` is then the index).
struct RenameStatement {
    enum class Target { table, column, constraint, index };
    Target target = Target::table;
    QualifiedName table;
    std::string old_name;  // column or constraint; empty for the table itself
    std::string new_name;
    bool operator==(const RenameStatement&) const = default;
};

// CREATE [UNIQUE] INDEX: a unique index on a guard's key means the migration has landed.
struct CreateIndexStatement {
    std::string index;
    QualifiedName table;
    bool unique = false;
    bool nulls_not_distinct = false;
    std::vector<std::string> columns;  // plain columns only; see has_expressions
    bool has_expressions = false;      // an expression, COLLATE or operator class element
    bool has_where = false;            // partial index
    bool operator==(const CreateIndexStatement&) const = default;
};

enum class CopyFormat { text, csv, binary };

struct CopyStatement {
    QualifiedName table;  // empty name for COPY (query) TO
    std::vector<std::string> columns;
    bool is_from = false;  // COPY ... FROM
    bool from_stdin = false;
    bool to_stdout = false;
    bool is_program = false;
    std::string filename;  // server-side file or program
    bool has_query = false;
    bool has_where = false;  // COPY ... FROM ... WHERE
    CopyFormat format = CopyFormat::text;
    // Every option as name and text, in order: {"format", "csv"}, {"header", "true"},
    // {"delimiter", ";"}, {"force_not_null", "a,b"}.
    std::vector<std::pair<std::string, std::string>> options;
    bool operator==(const CopyStatement&) const = default;
};

struct MergeStatement {
    QualifiedName table;
    std::string alias;
    bool has_with = false;
    bool operator==(const MergeStatement&) const = default;
};

struct TransactionStatement {
    enum class Kind {
        begin,     // BEGIN
        start,     // START TRANSACTION
        commit,    // COMMIT, END
        rollback,  // ROLLBACK, ABORT
        savepoint,
        release,
        rollback_to,
        prepare,  // PREPARE TRANSACTION 'gid'
        commit_prepared,
        rollback_prepared,
    };
    Kind kind = Kind::begin;
    std::string savepoint;  // SAVEPOINT / RELEASE / ROLLBACK TO
    std::string gid;        // the two-phase transaction's identifier
    bool chain = false;     // COMMIT AND CHAIN
    // BEGIN ISOLATION LEVEL ...: {"transaction_isolation", "serializable"},
    // {"transaction_read_only", "1"}, {"transaction_deferrable", "0"} (libpg_query's text).
    std::vector<std::pair<std::string, std::string>> options;
    bool operator==(const TransactionStatement&) const = default;
};

struct SetStatement {
    enum class Kind {
        set_value,    // SET x = v / TO v / SET TIME ZONE v / SET NAMES v / SET SCHEMA v
        set_default,  // SET x TO DEFAULT, SET TIME ZONE LOCAL
        set_current,  // SET x FROM CURRENT
        set_multi,    // SET TRANSACTION ..., SET SESSION CHARACTERISTICS ...
        reset,        // RESET x
        reset_all,    // RESET ALL
    };
    Kind kind = Kind::set_value;
    // The variable as the server names it, lower case: "search_path", "timezone",
    // "client_encoding", "datestyle", "standard_conforming_strings"...
    std::string name;
    bool is_local = false;      // SET LOCAL
    std::vector<Value> values;  // the value list as written
    // The value as the server stores it (its flatten_set_variable_args): items joined by
    // ", ", identifiers of list variables (search_path) quoted where they need it.
    std::string value;
    bool operator==(const SetStatement&) const = default;
};

// Anything else. `node` is libpg_query's name for the statement ("select_stmt",
// "explain_stmt", "discard_stmt", "prepare_stmt", "execute_stmt"...); the MySQL parser uses
// the same names ("select_stmt", "insert_stmt"...) from the statement's first word.
struct OtherStatement {
    std::string node;
    // MySQL: set when the statement is a kind the model covers (an INSERT, an UPDATE...) but
    // the parser could not read this one; says why. A guard must not treat it as harmless.
    std::string unsupported;
    bool operator==(const OtherStatement&) const = default;
};

enum class StatementKind {
    insert,
    update,
    delete_,
    truncate,
    alter_table,
    drop_table,
    rename,
    create_index,
    copy,
    merge,
    transaction,
    set,
    other,
};

std::string_view to_string(StatementKind k);

struct Statement {
    // The alternatives are in StatementKind's order.
    using Body = std::variant<InsertStatement, UpdateStatement, DeleteStatement, TruncateStatement,
                              AlterTableStatement, DropTableStatement, RenameStatement,
                              CreateIndexStatement, CopyStatement, MergeStatement,
                              TransactionStatement, SetStatement, OtherStatement>;
    Body body;
    // The statement's bytes as libpg_query reports them (stmt_location / stmt_len): from just
    // after the previous `;` (leading whitespace and comments included) to just before its own
    // `;` or the end of the string.
    SourceRange range;
    // The same without leading and trailing whitespace and comments.
    SourceRange trimmed;
    // EXPLAIN ANALYZE runs the statement it explains: such a statement is reported as the
    // statement it runs, with this flag set.
    bool explain_analyze = false;

    StatementKind kind() const { return static_cast<StatementKind>(body.index()); }
    template <class T>
    const T* get() const {
        return std::get_if<T>(&body);
    }
    template <class T>
    T* get() {
        return std::get_if<T>(&body);
    }
    bool operator==(const Statement&) const = default;
};

// The server's flatten_set_variable_args() for literal values: how `SET name = values` is
// stored (and what SHOW name answers).
std::string flatten_set_value(std::string_view name, const std::vector<Value>& values);

}  // namespace uniqguard::sql
