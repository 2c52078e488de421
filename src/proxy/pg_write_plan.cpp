#include "proxy/pg_write_plan.hpp"

#include <algorithm>
#include <cctype>

#include "sql/pg_lexer.hpp"

namespace uniqguard::proxy {

WritePlan refusal_plan(guard::GuardState& g, std::string message, std::string_view text) {
    WritePlan p;
    p.kind = WritePlan::Kind::refuse;
    p.guard = &g;
    p.refusal = std::move(message);
    p.text = text;
    return p;
}

namespace {
using sql::ValueKind;

std::string unenforced(const guard::GuardState& g, std::string_view what) {
    return "uniqguard: " + std::string(what) + " on table \"" + g.config().table +
           "\" is not enforced by guard \"" + g.config().name + "\" yet; the statement was refused";
}

// A value of a key column as a source, or an error message when the proxy cannot know it
// before the statement runs.
std::optional<ValueSource> source_of(const sql::Value& v, std::string_view sql) {
    ValueSource s;
    s.sql = std::string(v.range.text(sql));
    switch (v.kind) {
        case ValueKind::literal_string:
            s.kind = ValueSource::Kind::string;
            s.text = v.text;
            s.literal_token = std::string(v.literal.text(sql));
            s.literal = v.literal;
            break;
        case ValueKind::literal_number:
            s.kind = ValueSource::Kind::number;
            s.text = v.text;
            s.literal = v.literal;
            break;
        case ValueKind::literal_bool:
            s.kind = ValueSource::Kind::boolean;
            s.text = v.text;
            break;
        case ValueKind::null:
            s.kind = ValueSource::Kind::null;
            return s;  // NULL::anything is NULL
        case ValueKind::parameter:
            s.kind = ValueSource::Kind::parameter;
            s.parameter = v.parameter;
            break;
        default:
            return std::nullopt;
    }
    if (s.sql.empty()) return std::nullopt;
    if (v.casts.size() == 1 && v.casts[0].typmods.empty() && v.casts[0].array_dims == 0 &&
        (v.casts[0].name.schema.empty() || v.casts[0].name.schema == "pg_catalog")) {
        s.cast = guard::column_type_from_catalog(v.casts[0].name.name, true);
        s.opaque_cast = !s.cast;
    } else if (!v.casts.empty()) {
        s.opaque_cast = true;
    }
    return s;
}

// Whether `expr` gives the same value when the guard's check evaluates it, in a statement before
// the UPDATE, as in the UPDATE itself: every function it calls is one of the server's builtins
// that are immutable, or stable within a transaction (now(), not clock_timestamp() or random()).
// Anything else (a function of the application's, a volatile builtin) is refused: the check
// would judge other values than the UPDATE writes.
// `from_list`: `expr` is an UPDATE's FROM list, where a name after AS or `)` followed by `(` is
// an alias with its column names (`(VALUES …) AS v(id, k)`), not a call.
bool calls_only_stable_builtins(std::string_view expr, sql::LexOptions lex, bool from_list = false);

bool same_in_every_statement(std::string_view expr, sql::LexOptions lex) {
    std::vector<sql::Token> tokens;
    if (!sql::lex_postgres(expr, tokens, lex)) return false;
    // A subquery reads the table, which may change between the check and the UPDATE (another
    // session's commit): the key set would learn a key other than the one written.
    for (const auto& t : tokens)
        if (sql::is_word(expr, t, "select")) return false;
    return calls_only_stable_builtins(expr, lex);
}

// Every function `expr` calls is one of the server's builtins that give one value per
// transaction (the allowlist below).
bool calls_only_stable_builtins(std::string_view expr, sql::LexOptions lex, bool from_list) {
    static constexpr std::string_view callable[] = {
        // SQL's own forms written with parentheses
        "in", "any", "all", "some", "exists", "array", "row", "values", "and", "or", "not", "when",
        "then", "else", "case", "select", "from", "where", "as", "on", "is", "between", "like",
        "ilike", "similar", "distinct", "join", "by", "having", "filter", "over", "partition",
        "cast", "extract", "position", "overlay", "trim", "substring", "coalesce", "nullif",
        "greatest", "least", "collate",
        // immutable or stable builtins
        "abs", "round", "trunc", "floor", "ceil", "ceiling", "mod", "power", "sign", "div", "lower",
        "upper", "initcap", "btrim", "ltrim", "rtrim", "substr", "replace", "left", "right", "lpad",
        "rpad", "concat", "concat_ws", "length", "char_length", "translate", "split_part",
        "reverse", "md5", "to_char", "to_number", "to_date", "to_timestamp", "date_trunc",
        "date_part", "make_date", "make_timestamp", "make_timestamptz", "now",
        "transaction_timestamp", "max", "min", "count", "sum", "avg", "format", "int4", "int8",
        "int2", "numeric", "text", "varchar", "using", "lateral",
        // type names with a typmod, in casts (`'x'::char(12)`, `CAST(v AS numeric(5, 2))`)
        "char", "character", "varying", "bpchar", "decimal", "timestamp", "timestamptz", "time",
        "timetz", "interval", "bit", "float",
        // set-returning builtins a FROM list reads rows from (bulk UPDATEs send arrays or JSON:
        // `FROM unnest($1::int[], $2::int[]) AS x(id, k)`), immutable or stable
        "unnest", "generate_series", "json_to_recordset", "jsonb_to_recordset", "json_to_record",
        "jsonb_to_record", "json_populate_recordset", "jsonb_populate_recordset",
        "json_array_elements", "jsonb_array_elements", "json_array_elements_text",
        "jsonb_array_elements_text"};
    std::vector<sql::Token> tokens;
    if (!sql::lex_postgres(expr, tokens, lex)) return false;
    for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
        if (!sql::is_symbol(expr, tokens[i + 1], "(")) continue;
        // (Not OPERATOR(…), which a `)` may precede.)
        if (from_list && i > 0 && !sql::is_word(expr, tokens[i], "operator") &&
            (sql::is_word(expr, tokens[i - 1], "as") || sql::is_symbol(expr, tokens[i - 1], ")")))
            continue;
        if (tokens[i].kind == sql::TokenKind::quoted_identifier) return false;
        if (tokens[i].kind != sql::TokenKind::identifier) continue;
        // schema.f(: only the builtins' own schema
        if (i >= 2 && sql::is_symbol(expr, tokens[i - 1], ".") &&
            !sql::is_word(expr, tokens[i - 2], "pg_catalog"))
            return false;
        std::string word(sql::token_text(expr, tokens[i]));
        for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (std::find(std::begin(callable), std::end(callable), word) == std::end(callable))
            return false;
    }
    return true;
}

std::optional<std::size_t> position_of(const std::vector<std::string>& names,
                                       const std::string& c) {
    for (std::size_t i = 0; i < names.size(); ++i)
        if (names[i] == c) return i;
    return std::nullopt;
}

// The DO UPDATE part of an INSERT: its SET list (from the first assignment's column to its
// WHERE or the end) and the WHERE's condition, as written. nullopt: not in that form (SET (a, b)
// = (...), which the proxy does not place).
std::optional<std::pair<std::string, std::string>> upsert_set_text(const sql::InsertStatement& ins,
                                                                   std::string_view sql,
                                                                   std::string_view text,
                                                                   sql::LexOptions lex) {
    const auto& conflict = ins.on_conflict;
    if (conflict.assignments.empty()) return std::nullopt;
    const std::size_t begin = conflict.assignments.front().target.offset;
    const std::size_t end = static_cast<std::size_t>(text.data() - sql.data()) + text.size();
    if (begin == sql::SourceRange::npos || begin >= end) return std::nullopt;
    const std::string_view rest = sql.substr(begin, end - begin);
    // The SET keyword right before the first column: not a parenthesised list.
    std::vector<sql::Token> before;
    if (!sql::lex_postgres(sql.substr(0, begin), before, lex) || before.empty() ||
        !sql::is_word(sql, before.back(), "set"))
        return std::nullopt;
    std::vector<sql::Token> tokens;
    if (!sql::lex_postgres(rest, tokens, lex)) return std::nullopt;
    // Up to RETURNING, if any; the SET list, then the WHERE.
    int depth = 0;
    std::size_t where = std::string_view::npos, stop = rest.size();
    for (const auto& t : tokens) {
        if (sql::is_symbol(rest, t, "(") || sql::is_symbol(rest, t, "[")) ++depth;
        if (sql::is_symbol(rest, t, ")") || sql::is_symbol(rest, t, "]")) --depth;
        if (depth != 0) continue;
        if (sql::is_word(rest, t, "returning")) {
            stop = t.offset;
            break;
        }
        if (where == std::string_view::npos && sql::is_word(rest, t, "where")) where = t.offset;
    }
    if (where == std::string_view::npos)
        return std::make_pair(std::string(rest.substr(0, stop)), std::string());
    return std::make_pair(std::string(rest.substr(0, where)),
                          std::string(rest.substr(where + 5, stop - where - 5)));
}

// A WITH clause whose CTEs write (INSERT, UPDATE, DELETE, MERGE besides the statement's own
// INSERT and an ON CONFLICT DO UPDATE): such a statement cannot be wrapped in the proxy's CTE.
bool writes_in_with(std::string_view text, sql::LexOptions lex) {
    std::vector<sql::Token> tokens;
    if (!sql::lex_postgres(text, tokens, lex)) return true;
    int writes = 0;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        if (sql::is_word(text, tokens[i], "update") && i > 0 &&
            sql::is_word(text, tokens[i - 1], "do"))
            continue;
        for (const char* w : {"insert", "update", "delete", "merge"})
            if (sql::is_word(text, tokens[i], w)) ++writes;
    }
    return writes > 1;
}

// Whether `text` could write (INSERT, UPDATE but a locking clause's, MERGE, COPY, or such a
// word inside a string: a function body); a DELETE is no write of keys (defined below).
bool may_write(std::string_view text, sql::LexOptions lex);

// The first guard whose table `part` names: an identifier spelled as the table's bare name, or
// a string holding it (a function body, a DO block); null: none.
guard::GuardState* guard_named_in(std::string_view part, const guard::GuardRegistry& registry,
                                  sql::LexOptions lex, const guard::GuardState* except = nullptr) {
    std::vector<sql::Token> tokens;
    sql::lex_postgres(part, tokens, lex);
    auto lower = [](std::string_view v) {
        std::string out(v);
        for (char& ch : out)
            if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
        return out;
    };
    for (const auto& t : tokens) {
        const std::string_view spelled = sql::token_text(part, t);
        for (const auto& g : registry.guards()) {
            if (g.get() == except) continue;
            const std::string& name = g->configured_name().name;
            bool named = false;
            if (t.kind == sql::TokenKind::identifier) {
                named = lower(spelled) == name;
            } else if (t.kind == sql::TokenKind::quoted_identifier) {
                std::string inner;
                if (spelled.size() >= 2 && spelled.front() == '"' && spelled.back() == '"') {
                    for (std::size_t i = 1; i + 1 < spelled.size(); ++i) {
                        inner += spelled[i];
                        if (spelled[i] == '"') ++i;  // "" is one quote
                    }
                    named = inner == name;
                } else {
                    named = true;  // U&"…": not decoded here
                }
            } else if (sql::is_string_kind(t.kind)) {
                named = lower(spelled).find(name) != std::string::npos;
            }
            if (named) return g.get();
        }
    }
    return nullptr;
}

// `statement`'s ON CONFLICT clause (an INSERT's), from ON to its last token before a top-level
// RETURNING or the end (trailing comments and `;` left out), as (offset, length) in it.
// nullopt: none found.
std::optional<std::pair<std::size_t, std::size_t>> on_conflict_clause(std::string_view statement,
                                                                      sql::LexOptions lex) {
    std::vector<sql::Token> tokens;
    if (!sql::lex_postgres(statement, tokens, lex)) return std::nullopt;
    int depth = 0;
    std::optional<std::size_t> begin;
    std::size_t end = 0;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        if (sql::is_symbol(statement, tokens[i], "(")) ++depth;
        if (sql::is_symbol(statement, tokens[i], ")")) --depth;
        if (depth == 0 && !begin && i + 1 < tokens.size() &&
            sql::is_word(statement, tokens[i], "on") &&
            sql::is_word(statement, tokens[i + 1], "conflict"))
            begin = tokens[i].offset;
        if (!begin) continue;
        if (depth == 0 && (sql::is_word(statement, tokens[i], "returning") ||
                           sql::is_symbol(statement, tokens[i], ";")))
            break;
        end = tokens[i].end();
    }
    if (!begin || end <= *begin) return std::nullopt;
    return std::pair<std::size_t, std::size_t>{*begin, end - *begin};
}

WritePlan refuse(guard::GuardState& g, std::string message, std::string_view text) {
    return refusal_plan(g, std::move(message), text);
}

// The plan of a statement run as written and scanned after (plan_scan below), once no other
// guarded table is written by it.
WritePlan scan_plan(guard::GuardState& g, std::string_view text, std::string_view command,
                    bool rows, const std::string& form, bool ignore_as_reject) {
    // As a late INSERT: log forwards it with a warning (no key to log before it runs).
    const auto action = g.config().action;
    if (action == config::GuardAction::log ||
        (action == config::GuardAction::ignore && !ignore_as_reject))
        return refuse(g, unenforced(g, form), text);
    WritePlan p{.kind = WritePlan::Kind::late_insert,
                .guard = &g,
                .refusal = unenforced(g, form + " with a parameter of this type"),
                .text = text};
    p.late_scan = true;
    p.scan_command = command;
    p.scan_rows = rows;
    p.scan_form = form;
    return p;
}

bool rows_have_default(const sql::InsertStatement& ins) {
    for (const auto& row : ins.rows)
        for (const auto& v : row)
            if (v.kind == ValueKind::default_) return true;
    return false;
}

// An INSERT forwarded as written, no check: one the server refuses before any row (a column
// list naming a column twice), or any under action "log" with an ON CONFLICT clause.
WritePlan forward_as_written(guard::GuardState& g, std::string_view text) {
    return WritePlan{
        .kind = WritePlan::Kind::insert, .guard = &g, .forward_untouched = true, .text = text};
}

// Why an INSERT whose keys come late cannot skip duplicates through a stage
// (guard/pg_late_skip_sql.hpp), as the end of the refusal's form; nullopt: it can; "": the
// server refuses it itself (forward it as written).
std::optional<std::string> late_skip_unsupported(const sql::InsertStatement& ins,
                                                 const guard::GuardTable& table,
                                                 sql::LexOptions lex, std::string_view text) {
    if (ins.default_values) return std::string(" with DEFAULT VALUES");
    // Without a list the stage has every column and the table's defaults (the rows' width is
    // the server's to know): an identity or generated column would not be the table's there.
    if (ins.columns.empty())
        for (const auto& c : table.columns)
            if (c.identity != 0 || c.generated)
                return " without a column list, on a table with identity or generated column \"" +
                       c.name + "\"";
    // The stage has no defaults: DEFAULT there would not be the table's.
    if (rows_have_default(ins)) return std::string(" with DEFAULT among its values");
    for (std::size_t i = 0; i < ins.columns.size(); ++i) {
        const auto& name = ins.columns[i];
        for (std::size_t j = 0; j < i; ++j)
            if (ins.columns[j] == name) return std::string();  // 42701, the server's
        bool known = false;
        for (const auto& c : table.columns) known = known || c.name == name;
        // A column added since the guard read the table (a reload reads it again), or none.
        if (!known) return " naming column \"" + name + "\", which the guard does not know";
        if (name.starts_with("uniqguard_")) return std::string(" with a column named uniqguard_…");
    }
    for (std::size_t k : table.key_columns) {
        if (!ins.columns.empty() && !position_of(ins.columns, table.columns[k].name))
            return " that leaves key column \"" + table.columns[k].name + "\" to its default";
        // The client's value is ignored: the key is the identity's next value.
        if (ins.overriding == sql::Overriding::user_value && table.columns[k].identity != 0)
            return " with OVERRIDING USER VALUE on identity key column \"" + table.columns[k].name +
                   "\"";
    }
    if (ins.has_with) {
        // The wrapper's CTE names would clash with the client's (42712).
        const auto at = insert_after_with(text, lex);
        if (!at) return std::string(" with this WITH list");
        std::string lower(text.substr(0, *at));
        for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (lower.find("uniqguard_") != std::string::npos)
            return std::string(" with a name starting with uniqguard_");
    }
    return std::nullopt;
}

WritePlan plan_insert(const sql::InsertStatement& ins, std::string_view sql, guard::GuardState& g,
                      std::string_view text, const guard::GuardRegistry& registry,
                      sql::LexOptions lex) {
    const auto& table = g.table();
    if (ins.column_indirection)
        return refuse(g, unenforced(g, "INSERT into part of a column"), text);
    WritePlan p;
    p.kind = WritePlan::Kind::insert;
    p.guard = &g;
    p.text = text;
    const bool log_only = g.config().action == config::GuardAction::log;
    const auto& conflict = ins.on_conflict;
    const bool bare = conflict.target_columns.empty() && conflict.constraint.empty() &&
                      !conflict.target_unsupported;
    // The ON CONFLICT target is the guard's key or constraint, for which the server has no
    // index: it refuses the statement already at Parse (42P10 / 42704).
    bool names_guard = false;
    // The clause's columns are the key's (with an inference WHERE too, which names_guard
    // leaves out: a unique index on the key would satisfy it, but the server also checks the
    // predicate itself, which the rewrite would drop; so it answers 42P10 for it instead).
    bool target_is_key = false;
    {
        std::vector<std::string> target = conflict.target_columns;
        std::vector<std::string> key = g.config().columns;
        std::sort(target.begin(), target.end());
        std::sort(key.begin(), key.end());
        names_guard = conflict.action != sql::OnConflict::Action::none && !bare &&
                      !conflict.target_unsupported && !conflict.has_target_where &&
                      ((conflict.constraint.empty() && target == key) ||
                       (!conflict.constraint.empty() && conflict.constraint == g.config().name));
        target_is_key = names_guard || (conflict.constraint.empty() && target == key);
    }
    if (conflict.action == sql::OnConflict::Action::do_update) {
        if (log_only) return forward_as_written(g, text);
        auto refused = [&](const std::string& form) {
            auto r = refuse(g, unenforced(g, "INSERT ... ON CONFLICT DO UPDATE" + form), text);
            r.refuse_at_parse = names_guard;
            return r;
        };
        if (!names_guard) {
            // Another index's conflict (the primary key, ON CONSTRAINT another one): the server
            // infers it and the statement runs as written; its rows, inserted or updated, are
            // found after it by the scan (refused until 2026-11-28). Not under "ignore" (its
            // duplicates would have to be dropped), nor with the key's columns and an
            // inference WHERE, nor an inference element that is no plain column (`(user_id)`,
            // an opclass: the server may find no index where the index's table has one,
            // 42P10), nor with a WITH list (it could write another guarded table).
            if (target_is_key || conflict.target_unsupported || ins.has_with ||
                g.config().action == config::GuardAction::ignore)
                return refused(" on other columns than the key");
            return scan_plan(g, text, "INSERT", ins.returning,
                             "INSERT ... ON CONFLICT DO UPDATE on other columns than the key",
                             false);
        }
        if (ins.select_source || ins.has_with || ins.default_values)
            return refused(" whose rows are not a VALUES list");
        // A SET that moves the row to another key would need that key checked (and learnt).
        for (const auto& a : conflict.assignments)
            for (std::size_t k : table.key_columns)
                if (table.columns[k].name == a.column)
                    return refused(" setting key column \"" + a.column + "\"");
        auto set = upsert_set_text(ins, sql, text, lex);
        if (!set) return refused(" with this SET list");
        p.kind = WritePlan::Kind::upsert;
        p.upsert_set = std::move(set->first);
        p.upsert_where = std::move(set->second);
        // Rewritten only from a simple Query for now: a prepared one is refused at its Parse
        // (which the server would refuse, 42P10 / 42704).
        p.refusal = unenforced(g, "INSERT ... ON CONFLICT DO UPDATE in a prepared statement");
        p.refuse_at_parse = true;
    }
    if (conflict.action == sql::OnConflict::Action::do_nothing) {
        // log changes nothing on the wire, ON CONFLICT included (SPEC §4).
        if (log_only) return forward_as_written(g, text);
        if (names_guard) {
            p.skip_duplicates = true;
            p.must_rewrite = true;
        } else if (bare || (g.config().action == config::GuardAction::ignore && !target_is_key)) {
            // Bare: kept for the table's real indexes. Another index (other columns, another
            // constraint, an expression), under ignore: its conflicts stay the server's to
            // skip. Either way the client's clause is kept in the rewrite.
            const auto clause = on_conflict_clause(text, lex);
            if (!clause)
                return refuse(g, unenforced(g, "this INSERT ... ON CONFLICT DO NOTHING"), text);
            p.skip_duplicates = true;
            p.conflict_clause = std::string(text.substr(clause->first, clause->second));
            p.conflict_clause_offset =
                static_cast<std::size_t>(text.data() - sql.data()) + clause->first;
        }
        // Otherwise (reject) the clause names another (real) index: the server infers it and
        // the guard's duplicates still raise, as a real index not named by the clause would.
    } else if (g.config().action == config::GuardAction::ignore) {
        p.skip_duplicates = true;
    }
    p.writes_every_row = conflict.action == sql::OnConflict::Action::none && !p.skip_duplicates;
    // Keys the proxy cannot read before the statement runs: the server reports them as it
    // writes the rows (guard/pg_check_sql.hpp, LateInsertSql).
    auto late = [&](const std::string& form) {
        if (p.kind == WritePlan::Kind::upsert) {
            auto r =
                refuse(g, unenforced(g, "INSERT ... ON CONFLICT DO UPDATE with " + form), text);
            r.refuse_at_parse = true;  // the server would refuse its Parse (no index)
            return r;
        }
        if (log_only) return refuse(g, unenforced(g, form), text);
        // Its refusal where the proxy cannot run it so (a prepared statement with a
        // parameter the proxy cannot write as SQL).
        WritePlan late_plan{.kind = WritePlan::Kind::late_insert,
                            .guard = &g,
                            .refusal = unenforced(g, form + " with a parameter of this type"),
                            .text = text};
        late_plan.late_returning = ins.returning;
        if (p.skip_duplicates) {
            const std::string skipping =
                form + " that skips duplicates (action \"ignore\" or ON CONFLICT DO NOTHING)";
            if (auto why = late_skip_unsupported(ins, table, lex, text))
                return why->empty() ? forward_as_written(g, text)
                                    : refuse(g, unenforced(g, skipping + *why), text);
            late_plan.late_skip = true;
            late_plan.late_with = ins.has_with;
            late_plan.late_conflict = conflict.action != sql::OnConflict::Action::none;
            late_plan.conflict_clause = p.conflict_clause;
            // ON CONFLICT on the guard's key: the server parses a prepared one without it.
            late_plan.must_rewrite = p.must_rewrite;
            late_plan.insert_text.alias = ins.alias;
            late_plan.insert_text.columns = ins.columns;
            if (ins.columns.empty()) {
                late_plan.late_skip_every_column = true;
                for (const auto& c : table.columns) late_plan.insert_text.columns.push_back(c.name);
            }
            late_plan.insert_text.overriding = ins.overriding;
            late_plan.refusal = unenforced(g, skipping + " with a parameter of this type");
        }
        return late_plan;
    };
    if (ins.has_with && writes_in_with(text, lex)) {
        // The server refuses a data-modifying WITH nested in the proxy's CTE: the client's WITH
        // list is hoisted to the top of the wrapper instead (late_insert_sql, `hoisted`).
        const std::string form = "INSERT with a data-modifying WITH clause";
        const auto at = insert_after_with(text, lex);
        if (!at) return refuse(g, unenforced(g, form), text);
        const std::string_view with_list = text.substr(0, *at);
        // A CTE that writes to a guarded table (this one or another) would write keys no check
        // sees (the mention filter errs only towards refusing); one that only deletes from it
        // frees keys, which the check after the statement sees (a DELETE is no write to
        // may_write).
        if (auto* named = guard_named_in(with_list, registry, lex);
            named && may_write(with_list, lex))
            return refuse(*named,
                          unenforced(*named, form + " naming a guarded table, with a write "
                                                    "other than DELETE"),
                          text);
        // The wrapper's own CTE names would clash with the client's (42712).
        std::string lower(with_list);
        for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (lower.find("uniqguard_") != std::string::npos)
            return refuse(g, unenforced(g, form + " with a name starting with uniqguard_"), text);
        auto plan = late(form);
        if (plan.kind == WritePlan::Kind::late_insert) plan.late_hoist = true;
        return plan;
    }
    if (ins.select_source) return late("INSERT ... SELECT");
    if (ins.has_with) return late("INSERT with a WITH clause");
    // OVERRIDING USER VALUE: an identity key column takes its sequence's next value, not the
    // one written (which the key set would learn in its place, and miss the real one).
    if (ins.overriding == sql::Overriding::user_value)
        for (std::size_t k : table.key_columns)
            if (table.columns[k].identity != 0)
                return late("INSERT ... OVERRIDING USER VALUE into identity key column \"" +
                            table.columns[k].name + "\"");

    // Where each key column's value sits in a VALUES row; nullopt: the column is not written
    // and gets its default.
    // No column list: the rows fill the table's first columns in order, as many as a row has
    // (the rest get their defaults).
    std::vector<std::string> columns = ins.columns;
    if (columns.empty()) {
        const std::size_t width = ins.rows.empty() ? 0 : ins.rows.front().size();
        for (std::size_t i = 0; i < table.columns.size() && i < width; ++i)
            columns.push_back(table.columns[i].name);
    }
    std::vector<std::optional<std::size_t>> key_positions;
    for (std::size_t k = 0; k < table.key_columns.size(); ++k) {
        const auto& column = table.columns[table.key_columns[k]];
        auto pos = ins.default_values ? std::nullopt : position_of(columns, column.name);
        if (!pos && (column.has_default || column.identity != 0 || column.generated))
            return late("an INSERT that leaves key column \"" + column.name + "\" to its default");
        key_positions.push_back(pos);
    }

    const std::size_t rows = ins.default_values ? 1 : ins.rows.size();
    for (std::size_t r = 0; r < rows; ++r) {
        std::vector<ValueSource> key;
        for (std::size_t k = 0; k < key_positions.size(); ++k) {
            if (!key_positions[k]) {
                key.push_back(ValueSource{});  // no default: NULL
                continue;
            }
            const auto& row = ins.rows[r];
            // A row shorter than the column list is the server's error to report.
            if (*key_positions[k] >= row.size())
                return WritePlan{.kind = WritePlan::Kind::insert, .guard = &g, .text = text};
            const auto& v = row[*key_positions[k]];
            auto s = source_of(v, sql);
            if (!s) {
                const auto& column = table.columns[table.key_columns[k]];
                const char* what = v.kind == ValueKind::default_ ? "DEFAULT" : "an expression";
                return late(std::string("an INSERT with ") + what + " in key column \"" +
                            column.name + "\"");
            }
            key.push_back(std::move(*s));
        }
        p.rows.push_back(std::move(key));
    }
    if (p.skip_duplicates || p.kind == WritePlan::Kind::upsert) {
        auto& t = p.insert_text;
        t.alias = ins.alias;
        t.overriding = ins.overriding;
        t.returning = ins.returning ? std::string(ins.returning_list.text(sql)) : std::string();
        const std::size_t width =
            std::min(ins.rows.empty() ? 0 : ins.rows.front().size(), columns.size());
        // A column that is DEFAULT in every row (an ORM's id) is left out of the rewrite, which
        // gives it its default the same way; a DEFAULT mixed with values cannot be rewritten
        // (a VALUES list in FROM has no DEFAULT).
        std::vector<bool> keep(width, false);
        for (std::size_t c = 0; c < width; ++c)
            for (const auto& row : ins.rows)
                if (c < row.size() && row[c].kind != ValueKind::default_) keep[c] = true;
        for (std::size_t c = 0; c < width; ++c)
            if (keep[c]) t.columns.push_back(columns[c]);
        for (const auto& row : ins.rows) {
            std::vector<std::string> values;
            std::vector<std::size_t> offsets;
            for (std::size_t c = 0; c < row.size() && c < width; ++c) {
                if (!keep[c]) continue;
                t.has_default = t.has_default || row[c].kind == ValueKind::default_;
                values.emplace_back(row[c].range.text(sql));
                offsets.push_back(row[c].range.offset);
            }
            t.values.push_back(std::move(values));
            t.value_offsets.push_back(std::move(offsets));
        }
        if (ins.default_values || t.has_default || (ins.returning && t.returning.empty())) {
            const bool upsert = p.kind == WritePlan::Kind::upsert;
            WritePlan r =
                refuse(g,
                       unenforced(g, std::string(upsert ? "INSERT ... ON CONFLICT DO UPDATE"
                                                        : "an INSERT that skips duplicates "
                                                          "(ON CONFLICT DO NOTHING or "
                                                          "action \"ignore\")") +
                                         " with DEFAULT mixed with values in one column"),
                       text);
            r.refuse_at_parse = upsert;
            // The client must still get this refusal at Execute, not 42P10 at Parse.
            r.must_rewrite = p.must_rewrite;
            return r;
        }
    }
    return p;
}

std::optional<WritePlan> plan_update(const sql::UpdateStatement& up, std::string_view sql,
                                     guard::GuardState& g, std::string_view text,
                                     sql::LexOptions lex) {
    const auto& table = g.table();
    std::vector<const sql::Assignment*> key_assignments(table.key_columns.size(), nullptr);
    bool any = false;
    for (const auto& a : up.assignments) {
        for (std::size_t k = 0; k < table.key_columns.size(); ++k) {
            if (table.columns[table.key_columns[k]].name != a.column) continue;
            if (a.indirection)
                return refuse(g, unenforced(g, "an UPDATE of part of a key column"), text);
            key_assignments[k] = &a;
            any = true;
        }
    }
    if (!any) return std::nullopt;  // the key does not change
    if (up.where_current_of)
        return refuse(g, unenforced(g, "an UPDATE of key columns with WHERE CURRENT OF"), text);
    // New keys the check cannot evaluate ahead of the UPDATE (DEFAULT, a volatile or unknown
    // function, a subquery, a WITH list): the server reports them as it writes the rows, as
    // for an INSERT whose keys come late (guard/pg_check_sql.hpp, LateInsertSql).
    auto late = [&](const std::string& form) {
        // As a late INSERT: log forwards it with a warning (no key to log before it runs).
        if (g.config().action == config::GuardAction::log)
            return refuse(g, unenforced(g, form), text);
        WritePlan p{.kind = WritePlan::Kind::late_insert,
                    .guard = &g,
                    .refusal = unenforced(g, form + " with a parameter of this type"),
                    .text = text};
        p.late_update = true;
        p.late_returning = up.returning;
        p.alias = up.alias;
        return p;
    };
    if (up.has_with) {
        // A read-only WITH list nests in the proxy's CTE with the UPDATE; a data-modifying one
        // the server refuses there (and it could write the table itself). A CTE named
        // uniqguard_… is refused with every late write naming one (refuse_unwrappable).
        if (writes_in_with(text, lex))
            return scan_plan(g, text, "UPDATE", up.returning,
                             "an UPDATE of key columns with a data-modifying WITH clause", true);
        return late("an UPDATE of key columns with a WITH clause");
    }
    // FROM: the check joins the same list (guard/pg_check_sql.hpp, UpdateCheck::from), so what
    // it calls must give the same values there as in the UPDATE. What it reads may change in
    // between, as a subquery of the WHERE's may (docs/guard.md, "Not done yet").
    if (up.has_from && up.from_list.text(sql).empty())
        return refuse(
            g, unenforced(g, "an UPDATE of key columns whose FROM list could not be read"), text);
    if (up.has_from && !calls_only_stable_builtins(up.from_list.text(sql), lex, true))
        return late(
            "an UPDATE of key columns whose FROM list calls a function the guard "
            "cannot evaluate ahead of it");
    // A condition calling a volatile function (random()) would pick other rows in the check
    // than in the UPDATE.
    if (up.has_where && !up.where.text(sql).empty() &&
        !calls_only_stable_builtins(up.where.text(sql), lex))
        return late(
            "an UPDATE of key columns whose condition calls a function the guard cannot "
            "evaluate ahead of it");

    WritePlan p;
    p.kind = WritePlan::Kind::update;
    p.guard = &g;
    p.text = text;
    p.alias = up.alias;
    p.where = up.has_where ? std::string(up.where.text(sql)) : std::string();
    if (up.has_where && p.where.empty())
        return refuse(g, unenforced(g, "an UPDATE whose condition could not be read"), text);
    if (up.has_from) p.from = std::string(up.from_list.text(sql));
    for (std::size_t k = 0; k < key_assignments.size(); ++k) {
        p.update_assigned.push_back(key_assignments[k] != nullptr);
        if (!key_assignments[k]) {
            p.update_key.push_back(ValueSource{});
            continue;
        }
        const auto& value = key_assignments[k]->value;
        auto s = source_of(value, sql);
        if (!s && value.kind == ValueKind::expression && !value.range.text(sql).empty() &&
            same_in_every_statement(value.range.text(sql), lex)) {
            // Evaluated per row by the check (moved rows' new keys read back for the key set).
            s = ValueSource{.kind = ValueSource::Kind::expression,
                            .sql = std::string(value.range.text(sql))};
        }
        if (!s)
            return late("an UPDATE that sets key column \"" + key_assignments[k]->column +
                        "\" to DEFAULT or an expression calling a function the guard cannot "
                        "evaluate ahead of it");
        p.update_key.push_back(std::move(*s));
    }
    return p;
}

// A statement that is none of INSERT/UPDATE/... but names a guarded table and could write to it:
// a writable CTE, a DO block, PREPARE of a write. `FOR UPDATE` / `FOR NO KEY UPDATE` locking
// clauses are reads.
bool may_write(std::string_view text, sql::LexOptions lex) {
    std::vector<sql::Token> tokens;
    sql::lex_postgres(text, tokens, lex);
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const auto& t = tokens[i];
        if (sql::is_word(text, t, "insert") || sql::is_word(text, t, "merge") ||
            sql::is_word(text, t, "copy"))
            return true;
        if (sql::is_word(text, t, "update")) {
            const bool locking = i > 0 && (sql::is_word(text, tokens[i - 1], "for") ||
                                           sql::is_word(text, tokens[i - 1], "key"));
            if (!locking) return true;
        }
        if (t.kind == sql::TokenKind::dollar_string || t.kind == sql::TokenKind::string) {
            // A DO block's body, or a function body: its words are not tokens here.
            std::string inner(sql::token_text(text, t));
            for (char& ch : inner)
                ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            for (std::string_view w : {"insert", "update", "merge", "copy"})
                if (inner.find(w) != std::string::npos) return true;
        }
    }
    return false;
}
// COPY … FROM STDIN: its rows pass through the proxy and are read there (pg_copy_guard.hpp).
// Forms whose rows the proxy does not see, or cannot read, are refused.
std::optional<WritePlan> plan_copy(const sql::CopyStatement& c, guard::GuardState& g,
                                   std::string_view text) {
    if (!c.from_stdin)
        return refuse(g, unenforced(g, "COPY FROM a server-side file or program"), text);
    if (c.has_where) return refuse(g, unenforced(g, "COPY FROM ... WHERE"), text);
    const auto& table = g.table();
    // The fields of a row: the column list, or every column but the generated ones.
    std::vector<std::string> fields = c.columns;
    for (const auto& name : fields)
        if (std::none_of(table.columns.begin(), table.columns.end(),
                         [&](const auto& col) { return col.name == name; }))
            return std::nullopt;  // the server's error (42703) comes first
    if (fields.empty())
        for (const auto& col : table.columns)
            if (!col.generated || col.identity != 0) fields.push_back(col.name);
    WritePlan p;
    p.kind = WritePlan::Kind::copy;
    p.guard = &g;
    p.text = text;
    for (std::size_t k : table.key_columns) {
        const auto& name = table.columns[k].name;
        auto at = std::find(fields.begin(), fields.end(), name);
        if (at == fields.end())
            return refuse(g, unenforced(g, "COPY FROM STDIN without key column \"" + name + "\""),
                          text);
        p.copy_key_fields.push_back(static_cast<std::size_t>(at - fields.begin()));
    }
    std::string error;
    auto options = protocol::postgres::copy_format_options(c.options, fields, error);
    if (!options) return refuse(g, unenforced(g, "COPY FROM STDIN with " + error), text);
    p.copy_options = std::move(*options);
    p.copy_columns = std::move(fields);
    return p;
}

}  // namespace

namespace {
// Whether `text` has an identifier starting with `uniqguard_`: the proxy's own names in the
// statements it wraps a late write in (uniqguard_ins, uniqguard_k1, …), which would clash.
bool names_uniqguard(std::string_view text, sql::LexOptions lex) {
    std::vector<sql::Token> tokens;
    sql::lex_postgres(text, tokens, lex);
    for (const auto& t : tokens) {
        if (t.kind != sql::TokenKind::identifier && t.kind != sql::TokenKind::quoted_identifier)
            continue;
        std::string word(sql::token_text(text, t));
        for (char& ch : word) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (word.find("uniqguard_") != std::string::npos) return true;
    }
    return false;
}

// Whether `text` holds ON CONFLICT (at any depth: a WITH list's INSERT).
bool has_on_conflict(std::string_view text, sql::LexOptions lex) {
    std::vector<sql::Token> tokens;
    sql::lex_postgres(text, tokens, lex);
    for (std::size_t i = 0; i + 1 < tokens.size(); ++i)
        if (sql::is_word(text, tokens[i], "on") && sql::is_word(text, tokens[i + 1], "conflict"))
            return true;
    return false;
}

// A statement that writes the guarded table where no wrapper reaches: a MERGE (its rows come
// from a join the server runs, and PostgreSQL 15's MERGE has no RETURNING to wrap), or a
// statement whose WITH list writes the table. It runs as the client wrote it, between a mark the
// proxy writes in the same transaction and a scan for the rows written after that mark
// (guard::late_scan_sql); the rest is a late INSERT's (the keys claimed, the check, the client's
// replies held until then). `form` names it in a refusal; `ignore_as_reject`: under action
// "ignore" it is judged as under "reject" (a MERGE, as an UPDATE: no ON CONFLICT to skip by),
// else refused (a write that could have skipped its duplicates).
// `with_list`: the statement's WITH list, where another guarded table written would hide.
std::optional<WritePlan> plan_scan(guard::GuardState& g, std::string_view text,
                                   std::string_view with_list, const guard::GuardRegistry& registry,
                                   sql::LexOptions lex, std::string_view command, bool rows,
                                   const std::string& form, bool ignore_as_reject) {
    // An INSERT … ON CONFLICT in the WITH list: the scan cannot tell the rows it skipped (or
    // updated) from a duplicate, and a target naming the guard's key the server cannot infer.
    if (has_on_conflict(with_list, lex))
        return refuse(g, unenforced(g, form + " and ON CONFLICT"), text);
    // Another guarded table written by the same statement: its keys would go unchecked.
    if (auto* other = guard_named_in(with_list, registry, lex, &g);
        other && may_write(with_list, lex))
        return refuse(*other,
                      unenforced(*other, "a statement naming it that also writes to table \"" +
                                             g.config().table + "\" (guarded by \"" +
                                             g.config().name + "\")"),
                      text);
    return scan_plan(g, text, command, rows, form, ignore_as_reject);
}

// The forms the proxy runs as a statement of its own in the client's place cannot be explained:
// EXPLAIN ANALYZE would show the proxy's statement, or fail on it. And a late write's wrapper
// must not meet its own names in the client's text.
std::optional<WritePlan> refuse_unwrappable(std::optional<WritePlan> p, const sql::Statement& st,
                                            std::string_view text, sql::LexOptions lex) {
    if (!p || !p->guard) return p;
    const bool wrapped =
        p->kind == WritePlan::Kind::late_insert || p->kind == WritePlan::Kind::upsert;
    if (wrapped && st.explain_analyze)
        return refuse(*p->guard,
                      unenforced(*p->guard, p->kind == WritePlan::Kind::upsert
                                                ? "EXPLAIN ANALYZE of INSERT ... ON CONFLICT "
                                                  "DO UPDATE"
                                                : "EXPLAIN ANALYZE of a write whose keys come "
                                                  "late"),
                      text);
    if (p->kind == WritePlan::Kind::late_insert && names_uniqguard(text, lex))
        return refuse(*p->guard,
                      unenforced(*p->guard,
                                 "a write whose keys come late, naming something "
                                 "uniqguard_…"),
                      text);
    return p;
}
}  // namespace

std::optional<WritePlan> plan_write(const sql::Statement& st, std::string_view sql,
                                    const guard::GuardRegistry& registry, sql::LexOptions lex) {
    const std::string_view text = st.trimmed.text(sql);
    auto guard_of = [&](const sql::QualifiedName& t) { return registry.find(t); };
    auto unready = [&](guard::GuardState& g) {
        WritePlan p;
        p.kind = WritePlan::Kind::unready;
        p.guard = &g;
        p.text = text;
        return p;
    };
    // Refused naming the first guard whose bare name `part` contains.
    auto refuse_writer = [&](std::string_view part) -> std::optional<WritePlan> {
        std::string lower(part);
        for (char& c : lower)
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        for (const auto& g : registry.guards())
            if (lower.find(g->configured_name().name) != std::string::npos)
                return refuse(*g,
                              unenforced(*g,
                                         "a statement that may write to it (a WITH clause, DO "
                                         "block or PREPARE)"),
                              text);
        return std::nullopt;
    };
    // A WITH list writing a guarded table (`WITH x AS (INSERT INTO guarded …) <any statement>`):
    // the statement's own plan does not look into it, and no wrapper can hold it (the server
    // refuses a data-modifying WITH nested in a CTE). The statement runs as written, its rows
    // found by the scan after it (plan_scan). The WITH list ends at the statement's first
    // `words` keyword at depth 0 (the whole text when not found: errs towards a scan).
    auto with_list_of = [&](std::initializer_list<std::string_view> words) {
        const auto at = statement_after_with(text, words, lex);
        return at ? text.substr(0, *at) : text;
    };
    // The guarded table the WITH list writes (named in it, and a write other than DELETE in
    // it); null: none.
    auto written_guard = [&](std::string_view with_list) -> guard::GuardState* {
        if (!registry.may_mention(with_list) || !may_write(with_list, lex)) return nullptr;
        return guard_named_in(with_list, registry, lex);
    };
    // `target`: the guard of the statement's own table, or null.
    auto scan_with = [&](guard::GuardState* target, guard::GuardState& written,
                         std::string_view with_list, std::string_view command,
                         bool rows) -> std::optional<WritePlan> {
        guard::GuardState& g = target ? *target : written;
        if (g.state() != guard::GuardLoadState::ready) return unready(g);
        return refuse_unwrappable(
            plan_scan(g, text, with_list, registry, lex, command, rows,
                      std::string(command) + " with a data-modifying WITH clause writing to it",
                      false),
            st, text, lex);
    };
    switch (st.kind()) {
        case sql::StatementKind::insert: {
            const auto& ins = *st.get<sql::InsertStatement>();
            auto* g = guard_of(ins.table);
            if (ins.has_with) {
                const auto with_list = with_list_of({"insert"});
                // (ON CONFLICT into the guarded table itself: refused by plan_insert, below.)
                if (auto* w = written_guard(with_list);
                    w && !(g && ins.on_conflict.action != sql::OnConflict::Action::none))
                    return scan_with(g, *w, with_list, "INSERT", ins.returning);
            }
            if (!g) return std::nullopt;
            if (g->state() != guard::GuardLoadState::ready) return unready(*g);
            auto p = plan_insert(ins, sql, *g, text, registry, lex);
            // (not with a WITH list, which may name a query as the table is named)
            if (!ins.has_with) p.target_name = ins.table;
            return refuse_unwrappable(std::move(p), st, text, lex);
        }
        case sql::StatementKind::update: {
            const auto& up = *st.get<sql::UpdateStatement>();
            auto* g = guard_of(up.table);
            if (up.has_with) {
                // (An UPDATE of the guarded table that sets no key column but whose WITH list
                // writes to it was forwarded unchecked until 2026-11-28.)
                const auto with_list = with_list_of({"update"});
                if (auto* w = written_guard(with_list))
                    return scan_with(g, *w, with_list, "UPDATE", up.returning);
            }
            if (!g) return std::nullopt;
            if (g->state() != guard::GuardLoadState::ready) return unready(*g);
            auto p = plan_update(up, sql, *g, text, lex);
            if (p && !up.has_with) p->target_name = up.table;
            return refuse_unwrappable(std::move(p), st, text, lex);
        }
        case sql::StatementKind::delete_: {
            const auto& del = *st.get<sql::DeleteStatement>();
            if (!del.has_with) return std::nullopt;
            const auto with_list = with_list_of({"delete"});
            auto* w = written_guard(with_list);
            if (!w) return std::nullopt;
            return scan_with(nullptr, *w, with_list, "DELETE", del.returning);
        }
        case sql::StatementKind::merge: {
            const auto& m = *st.get<sql::MergeStatement>();
            auto* g = guard_of(m.table);
            std::string_view with_list;
            if (m.has_with) {
                with_list = with_list_of({"merge"});
                if (auto* w = written_guard(with_list); w && !g)
                    return scan_with(nullptr, *w, with_list, "MERGE", false);
            }
            if (!g) return std::nullopt;
            if (g->state() != guard::GuardLoadState::ready) return unready(*g);
            // MERGE has no ON CONFLICT: under "ignore" its duplicate is the index's error, as
            // an UPDATE's.
            return refuse_unwrappable(
                plan_scan(*g, text, with_list, registry, lex, "MERGE", false, "MERGE", true), st,
                text, lex);
        }
        case sql::StatementKind::copy: {
            const auto& c = *st.get<sql::CopyStatement>();
            // COPY (INSERT … RETURNING …) TO STDOUT, COPY (WITH x AS (INSERT …) …) TO: its
            // rows go out as COPY data, which the proxy does not hold (found by a review;
            // forwarded unchecked until 2026-11-28).
            if (!c.is_from && c.has_query && registry.may_mention(text)) {
                // (the word COPY itself is no write: the query after it may be)
                const std::string_view query = text.substr(std::min<std::size_t>(4, text.size()));
                if (may_write(query, lex)) return refuse_writer(query);
            }
            auto* g = c.is_from ? guard_of(c.table) : nullptr;
            if (!g) return std::nullopt;
            if (g->state() != guard::GuardLoadState::ready) return unready(*g);
            return plan_copy(c, *g, text);
        }
        case sql::StatementKind::other: {
            // EXPLAIN without ANALYZE plans the statement and runs nothing (the parser gives
            // one with ANALYZE as the statement it runs, `explain_analyze`).
            const auto& node = st.get<sql::OtherStatement>()->node;
            if (node == "explain_stmt") return std::nullopt;
            if (!registry.may_mention(text) || !may_write(text, lex)) return std::nullopt;
            if (node == "do_stmt") {
                // A DO block writing a guarded table is not scanned: what it writes may leave
                // the mark's (sub)transaction unseen (a function with an EXCEPTION block, a
                // procedure it CALLs that commits: found by a review on 2026-11-28).
                if (auto* g = guard_named_in(text, registry, lex))
                    return refuse(*g, unenforced(*g, "a DO block writing to it"), text);
                return refuse_writer(text);
            }
            // `WITH x AS (INSERT INTO guarded …) SELECT …`
            std::vector<sql::Token> first;
            if (node == "select_stmt" && sql::lex_postgres(text, first, lex) && !first.empty() &&
                sql::is_word(text, first[0], "with")) {
                const auto with_list = with_list_of({"select"});
                if (auto* w = written_guard(with_list))
                    return scan_with(nullptr, *w, with_list, "SELECT", true);
                // The WITH list writes other tables only; the SELECT after it reads (a
                // function of its may write: refused when its text names a guarded table).
                const std::string_view rest = text.substr(with_list.size());
                if (!with_list.empty() && with_list.size() < text.size() && !may_write(rest, lex))
                    return std::nullopt;
                if (!with_list.empty() && with_list.size() < text.size())
                    return refuse_writer(rest);
            }
            return refuse_writer(text);
        }
        default:
            return std::nullopt;
    }
}

std::optional<std::size_t> insert_after_with(std::string_view text, sql::LexOptions lex) {
    return statement_after_with(text, {"insert"}, lex);
}

std::optional<std::size_t> statement_after_with(std::string_view text,
                                                std::initializer_list<std::string_view> words,
                                                sql::LexOptions lex) {
    std::vector<sql::Token> tokens;
    if (!sql::lex_postgres(text, tokens, lex) || tokens.empty() ||
        !sql::is_word(text, tokens[0], "with"))
        return std::nullopt;
    // The CTEs' bodies are in parentheses: at depth 0 there are only their names, column
    // lists, AS [NOT] MATERIALIZED, SEARCH / CYCLE clauses and commas, up to the INSERT.
    int depth = 0;
    for (std::size_t i = 1; i < tokens.size(); ++i) {
        const auto& t = tokens[i];
        if (sql::is_symbol(text, t, "(") || sql::is_symbol(text, t, "[")) ++depth;
        if (sql::is_symbol(text, t, ")") || sql::is_symbol(text, t, "]")) --depth;
        if (depth != 0) continue;
        // INSERT INTO, DELETE FROM, MERGE INTO: not a column of that name in a CYCLE clause
        // (unreserved keywords).
        const bool next_into = i + 1 < tokens.size() && sql::is_word(text, tokens[i + 1], "into");
        const bool next_from = i + 1 < tokens.size() && sql::is_word(text, tokens[i + 1], "from");
        for (std::string_view w : words) {
            if (!sql::is_word(text, t, w)) continue;
            if ((w == "insert" || w == "merge") && !next_into) continue;
            if (w == "delete" && !next_from) continue;
            return t.offset;
        }
    }
    return std::nullopt;
}

std::optional<WritePlan> plan_sql_prepare(const WritePlan& body, std::string_view prepare_text) {
    auto& g = *body.guard;
    if (body.kind == WritePlan::Kind::refuse || body.kind == WritePlan::Kind::unready) {
        WritePlan p = body;
        p.text = prepare_text;
        return p;
    }
    if (g.config().action == config::GuardAction::log) return std::nullopt;
    using K = WritePlan::Kind;
    const bool raises =
        (body.kind == K::insert && !body.skip_duplicates && !body.forward_untouched) ||
        body.kind == K::update || (body.kind == K::late_insert && !body.late_skip);
    if (raises) return std::nullopt;
    return refuse(g,
                  unenforced(g,
                             "PREPARE of a statement that skips duplicates or updates the "
                             "row a key names (action \"ignore\", ON CONFLICT on the key)"),
                  prepare_text);
}

WritePlan plan_sql_execute(const WritePlan& body, const sql::Statement& statement,
                           std::string_view text, std::string_view command) {
    auto& g = *body.guard;
    // EXPLAIN ANALYZE runs the statement: its plan would show the proxy's mark and scan.
    if (statement.explain_analyze)
        return refuse(g, unenforced(g, "EXPLAIN ANALYZE of EXECUTE of a prepared write"), text);
    return scan_plan(g, text, command, true, "EXECUTE of a prepared " + std::string(command), true);
}

}  // namespace uniqguard::proxy
