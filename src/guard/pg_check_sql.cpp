#include "guard/pg_check_sql.hpp"

#include <algorithm>
#include <cstdio>

#include "guard/pg_sql_literal.hpp"
#include "sql/pg_lexer.hpp"

namespace uniqguard::guard {

namespace {
// The session's transaction reads one snapshot, taken by its first statement (REPEATABLE READ,
// SERIALIZABLE; READ UNCOMMITTED runs as READ COMMITTED, a snapshot per statement).
constexpr std::string_view snapshot_per_transaction =
    "pg_catalog.current_setting('transaction_isolation') IN ('repeatable read', "
    "'serializable')";
std::string cast_value(const std::optional<std::string>& expr, const TableColumn& column) {
    if (!expr) return "NULL::" + column.type_name;
    return "CAST((" + *expr + ") AS " + column.type_name + ")";
}

const TableColumn& key_column(const GuardTable& table, std::size_t i) {
    return table.columns[table.key_columns[i]];
}

// `c1 = CAST(...) AND c2 = ...`: the rows with the key (NULL matches only with
// nulls_distinct = false, as NULLS NOT DISTINCT).
std::string key_condition(const GuardTable& table, const KeySql& key) {
    std::string out;
    for (std::size_t i = 0; i < key.size(); ++i) {
        const auto& col = key_column(table, i);
        if (!out.empty()) out += " AND ";
        out += quote_identifier(col.name);
        out += key[i] ? " = " : " IS NOT DISTINCT FROM ";
        out += cast_value(key[i], col);
    }
    return out;
}

std::string do_block(const std::string& body) {
    // The client's text inside (a WHERE naming a column `found`) must mean the column, not a
    // PL/pgSQL variable.
    const std::string full = "#variable_conflict use_column\n" + body;
    const std::string tag = dollar_quote_tag(full);
    return "DO " + tag + full + tag;
}

// ONLY for a plain table: a unique index on it does not cover inheritance children (and the key
// set is loaded the same way); a partitioned table's rows are all in its partitions.
// A value as the server's messages write it: its type's output function, NULL as "null".
std::string output_of(const std::string& v) {
    return "CASE WHEN " + v + " IS NULL THEN 'null' ELSE format('%s', " + v + ") END";
}

// The server's own unique-violation error, raised by the proxy's DO blocks: `column` is the
// SQL of the COLUMN field (the event marker naming the row), `detail` the SQL of the DETAIL.
std::string raise_unique_violation(const GuardTable& table, const config::Guard& guard,
                                   const std::string& column, const std::string& detail) {
    return "RAISE EXCEPTION USING ERRCODE = '23505', COLUMN = " + column + ", MESSAGE = " +
           quote_literal("duplicate key value violates unique constraint \"" + guard.name + "\"") +
           ", DETAIL = " + detail + ", SCHEMA = " + quote_literal(table.schema) +
           ", TABLE = " + quote_literal(table.name) + ", CONSTRAINT = " + quote_literal(guard.name);
}

// `v` as the column will hold it after an INSERT's assignment. varchar(n)/char(n): the
// assignment cuts trailing spaces beyond n and refuses any other excess (22001), where an
// explicit cast would cut anything: a value too long is NULL here (it matches nothing, so the
// INSERT that follows meets it and refuses it).
std::string stored_as(const TableColumn& col, const std::string& v) {
    const auto open = col.type_name.find('(');
    if (col.type_name.starts_with("character") && open != std::string::npos) {
        const std::string n = col.type_name.substr(open + 1, col.type_name.find(')') - open - 1);
        return "CASE WHEN char_length(rtrim(CAST(" + v + " AS text))) <= " + n + " THEN CAST(" + v +
               " AS " + col.type_name + ") END";
    }
    return "CAST(" + v + " AS " + col.type_name + ")";
}

// The marker of the row in a variable `uniqguard_row`.
std::string row_marker() { return "'" + std::string(event_marker_prefix) + "' || uniqguard_row"; }
}  // namespace

std::string temp_table_name(std::string_view prefix, const std::vector<std::string>& parts) {
    std::uint32_t h = 2166136261u;  // FNV-1a, each part ended by 0xff
    for (const auto& part : parts) {
        for (unsigned char c : part) h = (h ^ c) * 16777619u;
        h = (h ^ 0xffu) * 16777619u;
    }
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", h);
    return std::string(prefix) + hex;
}

std::string temp_table_for_every_role(const std::string& name) {
    return "GRANT SELECT, INSERT, DELETE ON pg_temp." + name + " TO PUBLIC;";
}

std::string from_table(const GuardTable& table, const std::string& alias) {
    std::string out = (table.kind == 'r' ? " FROM ONLY " : " FROM ") + table.qualified_sql;
    if (!alias.empty()) out += " AS " + quote_identifier(alias);
    return out;
}

std::string insert_reject_check(const GuardTable& table, const config::Guard& guard,
                                const std::vector<KeySql>& rows, bool nulls_distinct,
                                bool before_insert,
                                const std::vector<std::size_t>& committed_rows) {
    const std::size_t n = table.key_columns.size();
    const std::string op = nulls_distinct ? " = " : " IS NOT DISTINCT FROM ";
    std::string declare = "DECLARE uniqguard_row integer; ";
    std::string values, select, into, same_as_earlier, same_in_statement, same_in_table, no_null,
        columns;
    for (std::size_t i = 0; i < n; ++i) {
        const std::string k = "uniqguard_n" + std::to_string(i + 1);
        const std::string var = "uniqguard_k" + std::to_string(i + 1);
        declare += var + " text; ";
        select += ", " + output_of("v." + k);
        into += ", " + var;
        const std::string sep = i ? " AND " : "";
        same_as_earlier += sep + "e." + k + op + "v." + k;
        same_in_statement += sep + "s." + k + op + "v." + k;
        same_in_table += sep + "t." + quote_identifier(key_column(table, i).name) + op + "v." + k;
        no_null += sep + "v." + k + " IS NOT NULL";
        columns += (i ? ", " : "") + quote_identifier(key_column(table, i).name);
    }
    for (std::size_t r = 0; r < rows.size(); ++r) {
        values += r ? ", (" : "(";
        values += std::to_string(r);
        for (std::size_t i = 0; i < n; ++i)
            values += ", " + cast_value(rows[r][i], key_column(table, i));
        values += ")";
    }
    std::string detail = quote_literal("Key (" + columns + ")=(");
    for (std::size_t i = 0; i < n; ++i)
        detail +=
            (i ? " || ', ' || " : " || ") + std::string("uniqguard_k") + std::to_string(i + 1);
    detail += " || " + quote_literal(") already exists.");
    std::string cte = "WITH uniqguard_v (uniqguard_row";
    for (std::size_t i = 0; i < n; ++i) cte += ", uniqguard_n" + std::to_string(i + 1);
    cte += ") AS (VALUES " + values + ") ";
    const std::string older_rows =
        before_insert ? "0"
                      : "(SELECT count(*) FROM uniqguard_v s WHERE " + same_in_statement + ")";
    // Rows whose key a transaction committed after this one began: refused under a snapshot
    // taken before that commit (REPEATABLE READ, SERIALIZABLE), which does not see the row.
    std::string committed_since;
    for (const std::size_t r : committed_rows)
        if (r < rows.size())
            committed_since += (committed_since.empty() ? "" : ", ") + std::to_string(r);
    if (!committed_since.empty())
        committed_since = " OR (v.uniqguard_row IN (" + committed_since + ") AND " +
                          std::string(snapshot_per_transaction) + ")";
    const std::string find =
        cte + "SELECT v.uniqguard_row" + select + " INTO uniqguard_row" + into +
        " FROM uniqguard_v v WHERE " + (nulls_distinct ? no_null + " AND " : "") +
        "(EXISTS (SELECT 1 FROM uniqguard_v e WHERE e.uniqguard_row < v.uniqguard_row AND " +
        same_as_earlier + ") OR (SELECT count(*)" + from_table(table, "t") + " WHERE " +
        same_in_table + ") > " + older_rows + committed_since +
        ") ORDER BY v.uniqguard_row LIMIT 1; ";
    std::string body = declare + "uniqguard_found boolean := false; BEGIN " +
                       (before_insert ? "BEGIN " + find +
                                            "uniqguard_found := FOUND; EXCEPTION WHEN OTHERS THEN "
                                            "uniqguard_found := false; END; "
                                      : find + "uniqguard_found := FOUND; ") +
                       "IF uniqguard_found THEN " +
                       raise_unique_violation(table, guard, row_marker(), detail) + "; END IF; END";
    return do_block(body);
}

std::string insert_probe(const GuardTable& table, const InsertCheck& check, bool after) {
    std::string out = "SELECT ";
    for (std::size_t i = 0; i < check.events.size(); ++i) {
        const auto& e = check.events[i];
        if (i) out += ", ";
        if (e.kind == KeyEvent::Kind::repeat) {
            out += "1";
        } else {
            out += "CASE WHEN (SELECT count(*)" + from_table(table, "") + " WHERE " +
                   key_condition(table, check.keys[e.key]) + ") > " +
                   std::to_string(after ? check.occurrences[e.key] : 0) + " THEN 1 ELSE 0 END";
        }
    }
    return out;
}

bool assignable_to(std::string_view value, const TableColumn& column, sql::LexOptions lex) {
    std::vector<sql::Token> tokens;
    if (!sql::lex_postgres(value, tokens, lex) || tokens.empty()) return true;
    // The type word after the last top-level "::" or "AS" (CAST(x AS t)).
    std::string_view type;
    for (std::size_t i = 0; i + 1 < tokens.size(); ++i)
        if (sql::is_symbol(value, tokens[i], "::") || sql::is_word(value, tokens[i], "as"))
            type = sql::token_text(value, tokens[i + 1]);
    if (type.empty()) return true;
    std::string t(type);
    for (char& ch : t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    auto is_string_type = [](std::string_view n) {
        return n == "text" || n == "varchar" || n == "character" || n == "char" || n == "bpchar" ||
               n == "name" || n.starts_with("character varying");
    };
    if (!is_string_type(t)) return true;
    std::string c = column.type_name;
    return c == "text" || c == "name" || c == "bpchar" || c.starts_with("character");
}

std::string insert_skipping_duplicates(const GuardTable& table, const config::Guard&,
                                       const InsertRewrite& ins, std::vector<CopiedText>* copies) {
    // Columns of the VALUES list: uniqguard_c1..n, then the row's number.
    auto value_column = [](std::size_t i) { return "uniqguard_c" + std::to_string(i + 1); };
    auto column_of = [&](const std::string& name) -> const TableColumn* {
        for (const auto& c : table.columns)
            if (c.name == name) return &c;
        return nullptr;
    };
    std::string out = "INSERT INTO " + table.qualified_sql;
    if (!ins.alias.empty()) out += " AS " + quote_identifier(ins.alias);
    out += " (";
    for (std::size_t i = 0; i < ins.columns.size(); ++i)
        out += (i ? ", " : "") + quote_identifier(ins.columns[i]);
    out += ")";
    if (!ins.overriding.empty()) out += " " + ins.overriding;
    // The rows as a CTE, so that a row can be compared with the rows before it: a key repeated
    // inside the statement is skipped after its first row, as ON CONFLICT DO NOTHING does.
    out += " WITH uniqguard_v (";
    for (std::size_t i = 0; i < ins.columns.size(); ++i) out += value_column(i) + ", ";
    out += "uniqguard_row) AS (VALUES ";
    for (std::size_t r = 0; r < ins.values.size(); ++r) {
        out += r ? ", (" : "(";
        for (std::size_t i = 0; i < ins.values[r].size() && i < ins.columns.size(); ++i) {
            // Typed here as the INSERT's assignment would type them: a VALUES list in FROM
            // would otherwise read untyped literals as text.
            const TableColumn* c = column_of(ins.columns[i]);
            const std::string& value = ins.values[r][i];
            // Every value is cast to its column's type, as the INSERT's assignment would read
            // it, so that the VALUES list unifies per column as the rows of an INSERT do not
            // need to. (A value the assignment would refuse is caught before rewriting.)
            const bool cast = true;
            // A string type is cast without its length: an explicit cast to varchar(n) would
            // cut a long value where the INSERT's assignment refuses it (22001).
            std::string type = c ? c->type_name : std::string("text");
            if (type.starts_with("character varying"))
                type = "character varying";
            else if (type.starts_with("character"))
                type = "bpchar";
            if (cast) out += "CAST((";
            if (copies && r < ins.value_origins.size() && i < ins.value_origins[r].size())
                copies->push_back({out.size(), ins.value_origins[r][i], value.size()});
            out += value;
            if (cast) out += ") AS " + type + ")";
            out += ", ";
        }
        out += std::to_string(r + 1) + ")";
    }
    out += ") SELECT ";
    for (std::size_t i = 0; i < ins.columns.size(); ++i)
        out += (i ? ", " : "") + std::string("uniqguard_v.") + value_column(i);
    out += " FROM uniqguard_v WHERE ";
    // The key's columns in the VALUES list; a key column the rows do not fill is NULL (no
    // default: the planner refused those), so such a row never conflicts.
    std::string match, match_earlier;
    bool key_filled = true;
    for (std::size_t k = 0; k < table.key_columns.size(); ++k) {
        const auto& col = table.columns[table.key_columns[k]];
        std::size_t at = ins.columns.size();
        for (std::size_t i = 0; i < ins.columns.size(); ++i)
            if (ins.columns[i] == col.name) at = i;
        if (at == ins.columns.size()) key_filled = false;
        if (!match.empty()) match += " AND ";
        if (!match_earlier.empty()) match_earlier += " AND ";
        // Compared as the column will hold them (a typed value is assigned with a cast: 0.5
        // into an integer column is 1).
        auto as_stored = [&](const std::string& v) { return stored_as(col, v); };
        const std::string op = ins.nulls_distinct ? " = " : " IS NOT DISTINCT FROM ";
        match += "uniqguard_t." + quote_identifier(col.name) + op +
                 as_stored("uniqguard_v." + value_column(at));
        match_earlier += as_stored("uniqguard_e." + value_column(at)) + op +
                         as_stored("uniqguard_v." + value_column(at));
    }
    std::string keep = "true";
    if (!ins.drop_rows.empty()) {
        keep = "uniqguard_v.uniqguard_row NOT IN (";
        for (std::size_t i = 0; i < ins.drop_rows.size(); ++i)
            keep += (i ? ", " : "") + std::to_string(ins.drop_rows[i] + 1);
        keep += ")";
    }
    if (key_filled)
        keep += " AND NOT EXISTS (SELECT 1" +
                std::string(table.kind == 'r' ? " FROM ONLY " : " FROM ") + table.qualified_sql +
                " AS uniqguard_t WHERE " + match +
                ") AND NOT EXISTS (SELECT 1 FROM uniqguard_v AS uniqguard_e WHERE "
                "uniqguard_e.uniqguard_row < uniqguard_v.uniqguard_row AND " +
                match_earlier + ")";
    // A row with NULL in a NOT NULL column is kept whatever its key: the server checks NOT NULL
    // before the unique index, so the client gets 23502 as it would. (A NOT NULL column left
    // out is not taken as NULL: a domain's default or a trigger may fill it, unseen here.)
    std::string not_null_violation;
    for (std::size_t i = 0; i < ins.columns.size(); ++i) {
        const TableColumn* c = column_of(ins.columns[i]);
        if (c && c->not_null)
            not_null_violation += " OR uniqguard_v." + value_column(i) + " IS NULL";
    }
    out += "((" + keep + ")" + not_null_violation + ")";
    out += " ORDER BY uniqguard_v.uniqguard_row";
    if (!ins.conflict_clause.empty()) {
        out += " ";
        if (copies && ins.conflict_clause_origin != std::string::npos)
            copies->push_back({out.size(), ins.conflict_clause_origin, ins.conflict_clause.size()});
        out += ins.conflict_clause;
    }
    if (!ins.returning.empty()) out += " RETURNING " + ins.returning;
    return out;
}

namespace {
// The moved rows as a CTE: each with its row identity and its new key (uniqguard_n1..n).
// `each_join_row`: with a FROM list, a target row the join matches several times is one moved row
// unless this is set; the keys read for the key set take every join row's new key, since the
// server writes one of them without saying which (a key the set holds in excess costs a check).
std::string moved_rows_cte(const GuardTable& table, const UpdateCheck& check,
                           bool each_join_row = false) {
    const std::string ref = quote_identifier(check.alias.empty() ? table.name : check.alias);
    std::string new_key, old_key;
    const std::string distinct = check.from.empty() || each_join_row
                                     ? ""
                                     : "DISTINCT ON (" + ref + ".tableoid, " + ref + ".ctid) ";
    std::string out = "WITH uniqguard_moved AS (SELECT " + distinct + ref +
                      ".tableoid AS uniqguard_rel, " + ref + ".ctid AS uniqguard_row";
    for (std::size_t i = 0; i < check.key.size(); ++i) {
        const auto& col = key_column(table, i);
        const std::string current = ref + "." + quote_identifier(col.name);
        const std::string value = check.assigned[i] ? cast_value(check.key[i], col) : current;
        out += ", " + value + " AS uniqguard_n" + std::to_string(i + 1);
        new_key += (i ? ", " : "") + value;
        old_key += (i ? ", " : "") + current;
    }
    out += from_table(table, check.alias);
    if (!check.from.empty()) out += ", " + check.from;
    out += " WHERE ";
    if (!check.where.empty()) out += "(" + check.where + ") AND ";
    out += "(ROW(" + new_key + ") IS NOT DISTINCT FROM ROW(" + old_key + ")) IS NOT TRUE)";
    return out;
}

// Among the moved rows (alias m), those whose new key another row of the final table has.
std::string conflicting_moved_rows(const GuardTable& table, const UpdateCheck& check) {
    std::string same_as_other, same_as_moved, no_null;
    for (std::size_t i = 0; i < check.key.size(); ++i) {
        const std::string n = "m.uniqguard_n" + std::to_string(i + 1);
        const std::string op = check.nulls_distinct ? " = " : " IS NOT DISTINCT FROM ";
        same_as_other += (i ? " AND " : "") + std::string("o.") +
                         quote_identifier(key_column(table, i).name) + op + n;
        same_as_moved +=
            (i ? " AND " : "") + std::string("m2.uniqguard_n") + std::to_string(i + 1) + op + n;
        no_null += (i ? " AND " : "") + n + " IS NOT NULL";
    }
    std::string out = " FROM uniqguard_moved m WHERE ";
    if (check.nulls_distinct) out += no_null + " AND ";
    out += "(EXISTS (SELECT 1" + from_table(table, "o") + " WHERE " + same_as_other +
           " AND (o.tableoid, o.ctid) NOT IN (SELECT uniqguard_rel, uniqguard_row FROM "
           "uniqguard_moved)) OR (SELECT count(*) FROM uniqguard_moved m2 WHERE " +
           same_as_moved + ") > 1)";
    return out;
}

}  // namespace

namespace {
constexpr std::string_view verdict_setting = "uniqguard.verdict";
constexpr std::string_view keys_setting = "uniqguard.keys";
// The rows the precheck expects with the new key after the UPDATE (a whole key set to values).
constexpr std::string_view expect_setting = "uniqguard.expect";
// The precheck's own error, when it had one: the UPDATE normally meets it too and reports it;
// one that passes (a role that may update the key columns but not read them) is refused after.
constexpr std::string_view failed_setting = "uniqguard.failed";

}  // namespace

std::string update_precheck(const GuardTable& table, const UpdateCheck& check, bool with_keys) {
    std::string declare =
        "DECLARE uniqguard_found boolean := false; uniqguard_keys text := ''; "
        "uniqguard_expect text := ''; uniqguard_failed text := ''; ";
    std::string select = moved_rows_cte(table, check) + " SELECT ";
    std::string into = " INTO ";
    std::string columns;
    for (std::size_t i = 0; i < check.key.size(); ++i) {
        const std::string var = "uniqguard_k" + std::to_string(i + 1);
        declare += var + " text; ";
        select += (i ? ", " : "") + output_of("m.uniqguard_n" + std::to_string(i + 1));
        into += (i ? ", " : "") + var;
        columns += (i ? ", " : "") + quote_identifier(key_column(table, i).name);
    }
    std::string detail = quote_literal("Key (" + columns + ")=(");
    for (std::size_t i = 0; i < check.key.size(); ++i)
        detail +=
            (i ? " || ', ' || " : " || ") + std::string("uniqguard_k") + std::to_string(i + 1);
    detail += " || " + quote_literal(") already exists.");
    // The whole new key known: with the verdict, in the same statement (one snapshot: a DO
    // block's statements each take their own), how many rows will have the new key after the
    // UPDATE as this snapshot sees the table (those that have it now and the moved ones), for
    // update_verdict's recount.
    const bool whole_key = !with_keys;
    std::string body;
    if (whole_key) {
        std::string outputs;
        for (std::size_t i = 0; i < check.key.size(); ++i)
            outputs += (i ? ", " : "") + output_of("m.uniqguard_n" + std::to_string(i + 1));
        body = declare + "BEGIN BEGIN " + moved_rows_cte(table, check) +
               " SELECT c.*, ((SELECT count(*)" + from_table(table, "") + " WHERE " +
               key_condition(table, check.key) +
               ") + (SELECT count(*) FROM uniqguard_moved))::text" + into +
               ", uniqguard_expect FROM (SELECT 1) AS uniqguard_one LEFT JOIN LATERAL (SELECT " +
               outputs + conflicting_moved_rows(table, check) +
               " LIMIT 1) c ON true; uniqguard_found := uniqguard_k1 IS NOT NULL; ";
    } else {
        body = declare + "BEGIN BEGIN " + select + into + conflicting_moved_rows(table, check) +
               " LIMIT 1; uniqguard_found := FOUND; ";
    }
    if (with_keys) {
        std::string row;
        for (std::size_t i = 0; i < check.key.size(); ++i)
            row += (i ? ", " : "") + std::string("CASE WHEN uniqguard_n") + std::to_string(i + 1) +
                   " IS NULL THEN NULL ELSE format('%s', uniqguard_n" + std::to_string(i + 1) +
                   ") END";
        body += moved_rows_cte(table, check, true) + " SELECT coalesce(json_agg(json_build_array(" +
                row + "))::text, '[]') INTO uniqguard_keys FROM uniqguard_moved; ";
    }
    // An error here is the UPDATE's own (a type mismatch, a bad condition): the UPDATE runs
    // next and reports it itself, in its own words and position.
    body +=
        "EXCEPTION WHEN OTHERS THEN uniqguard_found := false; uniqguard_keys := ''; "
        "uniqguard_expect := ''; uniqguard_failed := SQLSTATE || ' ' || SQLERRM; END; "
        "PERFORM pg_catalog.set_config(" +
        quote_literal(failed_setting) +
        ", uniqguard_failed, true); "
        "PERFORM pg_catalog.set_config(" +
        quote_literal(expect_setting) +
        ", uniqguard_expect, true); "
        "PERFORM pg_catalog.set_config(" +
        quote_literal(verdict_setting) + ", CASE WHEN uniqguard_found THEN " + detail +
        " ELSE '' END, true); "
        "PERFORM pg_catalog.set_config(" +
        quote_literal(keys_setting) + ", uniqguard_keys, true); END";
    return do_block(body);
}

std::string update_verdict(const GuardTable& table, const config::Guard& guard,
                           const KeySql* whole_key) {
    std::string recount;
    if (whole_key) {
        // Under READ COMMITTED the UPDATE takes a newer snapshot than its precheck: a row that
        // another session committed meanwhile and that matches the WHERE is moved unjudged.
        // More rows with the key now than the precheck expected, and at least two: a row was
        // moved onto a key another row has.
        std::string columns, values;
        for (std::size_t i = 0; i < whole_key->size(); ++i) {
            columns += (i ? ", " : "") + quote_identifier(key_column(table, i).name);
            values += (i ? " || ', ' || " : "") +
                      output_of(cast_value((*whole_key)[i], key_column(table, i)));
        }
        const std::string count = "(SELECT count(*)" + from_table(table, "") + " WHERE " +
                                  key_condition(table, *whole_key) + ")";
        recount = "IF uniqguard_detail = '' AND uniqguard_expect <> '' AND " + count +
                  " > greatest(uniqguard_expect::bigint, 1) THEN uniqguard_detail := " +
                  quote_literal("Key (" + columns + ")=(") + " || " + values + " || " +
                  quote_literal(") already exists.") + "; END IF; ";
    }
    const std::string body =
        "DECLARE uniqguard_detail text := coalesce(pg_catalog.current_setting(" +
        quote_literal(verdict_setting) +
        ", true), ''); uniqguard_expect text := "
        "coalesce(pg_catalog.current_setting(" +
        quote_literal(expect_setting) +
        ", true), ''); uniqguard_failed text := coalesce(pg_catalog.current_setting(" +
        quote_literal(failed_setting) + ", true), ''); BEGIN PERFORM pg_catalog.set_config(" +
        quote_literal(verdict_setting) + ", '', true); PERFORM pg_catalog.set_config(" +
        quote_literal(expect_setting) + ", '', true); PERFORM pg_catalog.set_config(" +
        quote_literal(failed_setting) +
        ", '', true); "
        // The UPDATE ran although the check could not: its rows were not judged.
        "IF uniqguard_failed <> '' THEN RAISE EXCEPTION USING ERRCODE = '0A000', MESSAGE = " +
        quote_literal("uniqguard: UPDATE on table \"" + table.name + "\", guarded by \"" +
                      guard.name + "\", could not be checked (") +
        " || uniqguard_failed || " +
        quote_literal(
            " in the check, which reads the key columns of the rows the UPDATE matches): the "
            "statement was refused") +
        "; END IF; " + recount + "IF uniqguard_detail <> '' THEN " +
        raise_unique_violation(table, guard, "'" + std::string(event_marker_prefix) + "0'",
                               "uniqguard_detail") +
        "; END IF; END";
    return do_block(body);
}

std::string update_verdict_probe() {
    const std::string verdict =
        "coalesce(pg_catalog.current_setting(" + quote_literal(verdict_setting) + ", true), '')";
    // Read (left to right) before the settings are cleared.
    return "SELECT CASE WHEN " + verdict + " <> '' THEN 1 ELSE 0 END, " + verdict +
           ", pg_catalog.set_config(" + quote_literal(verdict_setting) +
           ", '', true), pg_catalog.set_config(" + quote_literal(failed_setting) + ", '', true)";
}

// A learned key's text as hex of its bytes in the database's encoding: the client_encoding
// would otherwise convert it on the way (a LATIN1 session), and the key set holds keys as the
// loader reads them, in the database's encoding.
std::string as_database_bytes_hex(const std::string& text_sql) {
    return "pg_catalog.encode(pg_catalog.convert_to(" + text_sql +
           ", pg_catalog.getdatabaseencoding()), 'hex')";
}

std::string update_keys_probe() {
    return "SELECT " +
           as_database_bytes_hex("coalesce(pg_catalog.current_setting(" +
                                 quote_literal(keys_setting) + ", true), '')") +
           ", pg_catalog.set_config(" + quote_literal(keys_setting) + ", '', true)";
}

namespace {
// The text an advisory lock on one key column's value is taken on: equal values give equal
// texts whatever the session's settings (a numeric's scale, DateStyle, TimeZone).
std::string lock_text(TypeKind kind, const std::string& v) {
    switch (kind) {
        case TypeKind::numeric:
            return "pg_catalog.trim_scale(" + v + ")::text";
        case TypeKind::date:
        case TypeKind::timestamp:
        case TypeKind::timestamptz:
            return "pg_catalog.date_part('epoch', " + v + ")::text";
        default:
            return v + "::text";  // bpchar::text drops the padding, as char(n) equality does
    }
}

// The session's keys table of this guard: its name changes with the key columns' types, so
// that a table altered meanwhile gets a new one.
std::string late_keys_table(const GuardTable& table, const config::Guard& guard) {
    std::vector<std::string> parts{guard.name, table.qualified_sql};
    for (std::size_t i = 0; i < table.key_columns.size(); ++i)
        parts.push_back(key_column(table, i).type_name);
    return temp_table_name("uniqguard_late_", parts);
}

// One row per new key in the keys table (or a query of its columns, `from`), in row order: its
// columns' text in the database's encoding, as hex.
std::string late_keys_probe(std::size_t n, const std::string& from) {
    std::string out = "SELECT ";
    for (std::size_t i = 0; i < n; ++i) {
        const std::string k = "uniqguard_n" + std::to_string(i + 1);
        out += (i ? ", " : "") + std::string("CASE WHEN ") + k + " IS NULL THEN NULL ELSE " +
               as_database_bytes_hex("format('%s', " + k + ")") + " END";
    }
    return out + " FROM " + from + " ORDER BY uniqguard_row";
}
}  // namespace

LateInsertSql late_insert_sql(const GuardTable& table, const config::Guard& guard,
                              bool nulls_distinct, bool returning, bool hoisted,
                              std::string_view extra_prepare, std::string_view qualifier,
                              std::string_view command) {
    const std::size_t n = table.key_columns.size();
    const std::string name = late_keys_table(table, guard);
    const std::string keys = "pg_temp." + name;
    const std::string op = nulls_distinct ? " = " : " IS NOT DISTINCT FROM ";
    auto k = [](std::size_t i) { return "uniqguard_n" + std::to_string(i + 1); };
    LateInsertSql out;

    std::string create = "CREATE TEMP TABLE " + name +
                         " (uniqguard_row bigint GENERATED ALWAYS "
                         "AS IDENTITY";
    for (std::size_t i = 0; i < n; ++i)
        create += ", " + k(i) + " " + key_column(table, i).type_name;
    create += ")";
    // In a read-only transaction the keys table cannot be created, and the wrapper's top
    // command would be named (INSERT): the client's statement's own refusal first.
    // Without a command (a statement run as written, late_scan_sql) nothing is prepared: the
    // client's statement itself then fails as the server fails it there (its own parse errors
    // first), and the statements after it are skipped with its transaction.
    const std::string read_only =
        "IF pg_catalog.current_setting('transaction_read_only') = 'on' THEN " +
        (command.empty() ? std::string("RETURN")
                         : "RAISE EXCEPTION USING ERRCODE = '25006', MESSAGE = " +
                               quote_literal("cannot execute " + std::string(command) +
                                             " in a read-only transaction")) +
        "; END IF; ";
    out.prepare =
        do_block("BEGIN " + read_only + "IF pg_catalog.to_regclass(" + quote_literal(keys) +
                 ") IS NULL THEN " + create + "; " + temp_table_for_every_role(name) + " END IF; " +
                 std::string(extra_prepare) + "END");

    // `returned`: the key columns in the RETURNING list, qualified for an UPDATE (whose FROM
    // list may have columns of the same names); `columns`: as the CTE names them.
    const std::string qualify = qualifier.empty() ? std::string() : std::string(qualifier) + ".";
    std::string columns, returned, stored;
    for (std::size_t i = 0; i < n; ++i) {
        columns += (i ? ", " : "") + quote_identifier(key_column(table, i).name);
        returned += (i ? ", " : "") + qualify + quote_identifier(key_column(table, i).name);
        stored += (i ? ", " : "") + k(i);
    }
    // Hoisted: the prefix goes between the client's WITH list and its INSERT.
    out.prefix = hoisted ? ", uniqguard_ins AS (" : "WITH uniqguard_ins AS (";
    if (!returning) {
        out.suffix = "\nRETURNING " + returned + ") INSERT INTO " + keys + " (" + stored +
                     ") SELECT " + columns + " FROM uniqguard_ins";
    } else {
        std::string added, taken;
        for (std::size_t i = 0; i < n; ++i) {
            const std::string name = "uniqguard_k" + std::to_string(i + 1);
            added += ", " + qualify + quote_identifier(key_column(table, i).name) + " AS " + name;
            taken += (i ? ", " : "") + name;
        }
        out.suffix = "\n" + added + "), uniqguard_rec AS (INSERT INTO " + keys + " (" + stored +
                     ") SELECT " + taken + " FROM uniqguard_ins) SELECT * FROM uniqguard_ins";
    }

    out.keys_probe = late_keys_probe(n, keys);

    std::string declare = "DECLARE uniqguard_row bigint; ";
    std::string select, into, same_as_earlier, same_in_statement, same_in_table, no_null, lock;
    for (std::size_t i = 0; i < n; ++i) {
        const std::string var = "uniqguard_k" + std::to_string(i + 1);
        const std::string sep = i ? " AND " : "";
        declare += var + " text; ";
        select += ", " + output_of("v." + k(i));
        into += ", " + var;
        same_as_earlier += sep + "e." + k(i) + op + "v." + k(i);
        same_in_statement += sep + "s." + k(i) + op + "v." + k(i);
        same_in_table +=
            sep + "t." + quote_identifier(key_column(table, i).name) + op + "v." + k(i);
        no_null += sep + "v." + k(i) + " IS NOT NULL";
        lock += (i ? " || chr(31) || " : "") + std::string("CASE WHEN v.") + k(i) +
                " IS NULL THEN 'n' ELSE 'v' || " + lock_text(table.key_types[i].kind, "v." + k(i)) +
                " END";
    }
    std::string detail = quote_literal("Key (" + columns + ")=(");
    for (std::size_t i = 0; i < n; ++i)
        detail +=
            (i ? " || ', ' || " : " || ") + std::string("uniqguard_k") + std::to_string(i + 1);
    detail += " || " + quote_literal(") already exists.");
    const std::string where_keyed = nulls_distinct ? " WHERE " + no_null : std::string();
    // Row order, as the index is written; keys with a NULL never conflict under
    // nulls_distinct and take no lock. One lock per key fills the server's lock table (about
    // max_locks_per_transaction x connections entries) for a large INSERT … SELECT: past 1,000
    // rows the statement takes the guard's own lock exclusively instead, which the others take
    // shared before their keys' locks, so that every two such INSERTs still exclude each other.
    const std::string guard_lock =
        "pg_catalog.hashtextextended(" + quote_literal("uniqguard:" + guard.name) + ", 0)";
    const std::string locks = "IF (SELECT count(*) FROM " + keys +
                              ") > 1000 THEN PERFORM "
                              "pg_catalog.pg_advisory_xact_lock(" +
                              guard_lock +
                              "); ELSE PERFORM "
                              "pg_catalog.pg_advisory_xact_lock_shared(" +
                              guard_lock +
                              "); PERFORM "
                              "pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(" +
                              quote_literal("uniqguard:" + guard.name + ":") + " || " + lock +
                              ", 0)) FROM " + keys + " v" + where_keyed +
                              " ORDER BY v.uniqguard_row; END IF; ";
    std::string find;
    if (nulls_distinct) {
        // The statement's keys grouped, and the table's rows with those keys counted in one
        // hashed pass (IN), not one scan per row: a row is refused when an earlier row has its
        // key, or when the table has more rows with it than the statement wrote.
        std::string group, t_cols, join_s, join_t;
        for (std::size_t i = 0; i < n; ++i) {
            const std::string sep = i ? ", " : "";
            const std::string col = quote_identifier(key_column(table, i).name);
            group += sep + k(i);
            t_cols += sep + "t." + col;
            join_s += (i ? " AND " : "") + std::string("s.") + k(i) + " = v." + k(i);
            join_t += (i ? " AND " : "") + std::string("c.") + col + " = s." + k(i);
        }
        find = "WITH s AS (SELECT " + group +
               ", count(*) AS uniqguard_count, min(uniqguard_row) "
               "AS uniqguard_first FROM " +
               keys + " v WHERE " + no_null + " GROUP BY " + group + "), c AS (SELECT " + t_cols +
               ", count(*) AS uniqguard_count" + from_table(table, "t") + " WHERE (" + t_cols +
               ") IN (SELECT " + group + " FROM s) GROUP BY " + t_cols +
               ") SELECT v.uniqguard_row - (SELECT "
               "min(uniqguard_row) FROM " +
               keys + ")" + select + " INTO uniqguard_row" + into + " FROM " + keys +
               " v JOIN s ON " + join_s + " LEFT JOIN c ON " + join_t +
               " WHERE v.uniqguard_row > s.uniqguard_first OR coalesce(c.uniqguard_count, 0) > "
               "s.uniqguard_count ORDER BY v.uniqguard_row LIMIT 1; ";
    } else {
        find = "SELECT v.uniqguard_row - (SELECT min(uniqguard_row) FROM " + keys + ")" + select +
               " INTO uniqguard_row" + into + " FROM " + keys +
               " v WHERE (EXISTS (SELECT 1 "
               "FROM " +
               keys + " e WHERE e.uniqguard_row < v.uniqguard_row AND " + same_as_earlier +
               ") OR (SELECT count(*)" + from_table(table, "t") + " WHERE " + same_in_table +
               ") > (SELECT count(*) FROM " + keys + " s WHERE " + same_in_statement +
               ")) ORDER BY v.uniqguard_row LIMIT 1; ";
    }
    out.reject_check =
        do_block(declare + "BEGIN " + locks + find + "IF FOUND THEN " +
                 raise_unique_violation(table, guard, row_marker(), detail) + "; END IF; END");
    out.clear = "DELETE FROM " + keys;
    out.committed = {keys, out.reject_check.rfind(" ORDER BY v.uniqguard_row LIMIT 1")};
    return out;
}

std::string with_committed_rows(std::string_view check, const CommittedRowsSlot& slot,
                                const std::vector<std::size_t>& rows) {
    std::string out(check);
    if (rows.empty() || slot.at > out.size()) return out;
    std::string list;
    for (const std::size_t r : rows) list += (list.empty() ? "" : ", ") + std::to_string(r);
    out.insert(slot.at, " OR (v.uniqguard_row - (SELECT min(uniqguard_row) FROM " +
                            slot.keys_table + ") IN (" + list + ") AND " +
                            std::string(snapshot_per_transaction) + ")");
    return out;
}

LateInsertSql late_scan_sql(const GuardTable& table, const config::Guard& guard,
                            bool nulls_distinct) {
    const std::size_t n = table.key_columns.size();
    const std::string mark = "uniqguard_merge_mark";
    // The mark: one row written right before the statement, in its (sub)transaction. Every row
    // the statement writes has the mark's xmin (the same transaction id) and a later command id.
    const std::string write_mark =
        "IF pg_catalog.to_regclass('pg_temp." + mark + "') IS NULL THEN CREATE TEMP TABLE " + mark +
        " (uniqguard_m int); " + temp_table_for_every_role(mark) + " END IF; DELETE FROM pg_temp." +
        mark + "; INSERT INTO pg_temp." + mark + " VALUES (1); ";
    LateInsertSql out =
        late_insert_sql(table, guard, nulls_distinct, false, false, write_mark, {}, {});
    out.prefix.clear();
    out.suffix.clear();
    // After the statement: the rows it inserted or updated (one scan of the table), recorded in
    // the keys table and read back as a late INSERT's are. Rows it deleted are gone; rows the
    // transaction wrote before the mark have an earlier command id.
    std::string stored, selected;
    for (std::size_t i = 0; i < n; ++i) {
        stored += (i ? ", " : "") + std::string("uniqguard_n") + std::to_string(i + 1);
        selected += (i ? ", t." : "t.") + quote_identifier(key_column(table, i).name);
    }
    // The mark's columns as scalar subqueries: a filter on one pass over the table (a join
    // would hash the whole table). In ctid order, the order in which the statement appended
    // them, so that the duplicate reported is, as a rule, the one the index would meet first.
    const std::string from_mark = " FROM pg_temp." + mark + ")";
    out.keys_probe = "WITH uniqguard_m AS (INSERT INTO pg_temp." + late_keys_table(table, guard) +
                     " (" + stored + ") SELECT " + selected + from_table(table, "t") +
                     " WHERE t.xmin OPERATOR(pg_catalog.=) (SELECT xmin" + from_mark +
                     " AND t.cmin::text::int8 > (SELECT cmin::text::int8" + from_mark +
                     " ORDER BY t.ctid RETURNING uniqguard_row, " + stored + ") " +
                     late_keys_probe(n, "uniqguard_m");
    return out;
}

std::string excluded_column(std::size_t i) {
    return "uniqguard_x.uniqguard_c" + std::to_string(i + 1);
}

std::string upsert_statement(const GuardTable& table, const UpsertRewrite& up,
                             std::vector<CopiedText>* copies) {
    auto column_of = [&](const std::string& name) -> const TableColumn* {
        for (const auto& c : table.columns)
            if (c.name == name) return &c;
        return nullptr;
    };
    const std::string only = table.kind == 'r' ? "ONLY " : "";
    const std::string target =
        up.alias.empty() ? quote_identifier(table.name) : quote_identifier(up.alias);
    const std::string alias = up.alias.empty() ? "" : " AS " + quote_identifier(up.alias);
    const std::string op = up.nulls_distinct ? " = " : " IS NOT DISTINCT FROM ";
    std::string out = "WITH uniqguard_x (uniqguard_row";
    for (std::size_t i = 0; i < up.columns.size(); ++i)
        out += ", uniqguard_c" + std::to_string(i + 1);
    out += ") AS (VALUES ";
    for (std::size_t r = 0; r < up.values.size(); ++r) {
        out += (r ? ", (" : "(") + std::to_string(r + 1);
        for (std::size_t i = 0; i < up.columns.size() && i < up.values[r].size(); ++i) {
            // Typed as the INSERT's assignment types them (a VALUES list in FROM would read an
            // untyped literal as text); a string type without its length, which the
            // assignment checks (22001) where a cast would cut.
            const TableColumn* c = column_of(up.columns[i]);
            std::string type = c ? c->type_name : std::string("text");
            if (type.starts_with("character varying"))
                type = "character varying";
            else if (type.starts_with("character"))
                type = "bpchar";
            out += ", CAST((";
            if (copies && r < up.value_origins.size() && i < up.value_origins[r].size())
                copies->push_back({out.size(), up.value_origins[r][i], up.values[r][i].size()});
            out += up.values[r][i] + ") AS " + type + ")";
        }
        out += ")";
    }
    out += ")";
    // The key's columns among the proposed row's (a column the rows do not fill: NULL, its
    // default being refused by the planner), compared as the table holds them.
    std::string match_update, match_insert;
    for (std::size_t k = 0; k < table.key_columns.size(); ++k) {
        const auto& col = key_column(table, k);
        std::string proposed = "NULL";
        for (std::size_t i = 0; i < up.columns.size(); ++i)
            if (up.columns[i] == col.name) proposed = "uniqguard_c" + std::to_string(i + 1);
        const std::string sep = k ? " AND " : "";
        match_update += sep + target + "." + quote_identifier(col.name) + op +
                        stored_as(col, "uniqguard_x." + proposed);
        match_insert +=
            sep + "o." + quote_identifier(col.name) + op + stored_as(col, "v." + proposed);
    }
    // With RETURNING: the client's list, then the proposed row's number (an inserted row's is
    // found by its key, unique among the proposed rows once the precheck passed).
    std::string returning_update = "1", returning_insert = "1";
    if (!up.returning.empty()) {
        std::string lookup;
        for (std::size_t k = 0; k < table.key_columns.size(); ++k) {
            const auto& col = key_column(table, k);
            std::string proposed = "NULL";
            for (std::size_t i = 0; i < up.columns.size(); ++i)
                if (up.columns[i] == col.name) proposed = "uniqguard_c" + std::to_string(i + 1);
            lookup += (k ? " AND " : "") + target + "." + quote_identifier(col.name) +
                      " IS NOT DISTINCT FROM " + stored_as(col, "v2." + proposed);
        }
        returning_update = up.returning + "\n, uniqguard_x.uniqguard_row AS uniqguard_row";
        returning_insert = up.returning +
                           "\n, (SELECT v2.uniqguard_row FROM uniqguard_x v2 WHERE " + lookup +
                           " ORDER BY v2.uniqguard_row LIMIT 1) AS uniqguard_row";
    }
    out += ", uniqguard_u AS (UPDATE " + only + table.qualified_sql + alias + " SET " +
           up.set_list + "\nFROM uniqguard_x WHERE " + match_update;
    if (!up.where.empty()) out += " AND (" + up.where + "\n)";
    out += " RETURNING " + returning_update + "), uniqguard_i AS (INSERT INTO " +
           table.qualified_sql + alias + " (";
    for (std::size_t i = 0; i < up.columns.size(); ++i)
        out += (i ? ", " : "") + quote_identifier(up.columns[i]);
    out += ")";
    if (!up.overriding.empty()) out += " " + up.overriding;
    out += " SELECT ";
    for (std::size_t i = 0; i < up.columns.size(); ++i)
        out += (i ? ", " : "") + std::string("v.uniqguard_c") + std::to_string(i + 1);
    out += " FROM uniqguard_x v WHERE NOT EXISTS (SELECT 1 FROM " + only + table.qualified_sql +
           " o WHERE " + match_insert + ") ORDER BY v.uniqguard_row RETURNING " + returning_insert +
           ") ";
    if (up.returning.empty())
        out += "SELECT (SELECT count(*) FROM uniqguard_u) + (SELECT count(*) FROM uniqguard_i)";
    else
        out +=
            "SELECT * FROM (SELECT * FROM uniqguard_u UNION ALL SELECT * FROM uniqguard_i) "
            "uniqguard_r ORDER BY uniqguard_r.uniqguard_row";
    return out;
}

std::string upsert_check(const GuardTable& table, const config::Guard& guard,
                         const std::vector<KeySql>& rows, bool nulls_distinct) {
    const std::size_t n = table.key_columns.size();
    const std::string op = nulls_distinct ? " = " : " IS NOT DISTINCT FROM ";
    std::string values, names, no_null, same_in_table, select, into, declare, columns;
    for (std::size_t i = 0; i < n; ++i) {
        const std::string k = "uniqguard_n" + std::to_string(i + 1);
        const std::string sep = i ? " AND " : "";
        names += ", " + k;
        no_null += sep + "v." + k + " IS NOT NULL";
        same_in_table += sep + "t." + quote_identifier(key_column(table, i).name) + op + "v." + k;
        select += (i ? ", " : "") + output_of("v." + k);
        into += (i ? ", " : "") + std::string("uniqguard_k") + std::to_string(i + 1);
        declare += "uniqguard_k" + std::to_string(i + 1) + " text; ";
        columns += (i ? ", " : "") + quote_identifier(key_column(table, i).name);
    }
    for (std::size_t r = 0; r < rows.size(); ++r) {
        values += r ? ", (" : "(";
        values += std::to_string(r);
        for (std::size_t i = 0; i < n; ++i) {
            const auto& col = key_column(table, i);
            values += ", " + (rows[r][i] ? stored_as(col, "(" + *rows[r][i] + ")")
                                         : "NULL::" + col.type_name);
        }
        values += ")";
    }
    const std::string cte = "WITH v (uniqguard_row" + names + ") AS (VALUES " + values + ") ";
    const std::string keyed = nulls_distinct ? " WHERE " + no_null : std::string();
    std::string group;
    for (std::size_t i = 0; i < n; ++i)
        group += (i ? ", " : "") + std::string("uniqguard_n") + std::to_string(i + 1);
    std::string described = "'(" + columns + ")=(' || ";
    for (std::size_t i = 0; i < n; ++i)
        described += (i ? " || ', ' || " : "") + std::string("uniqguard_k") + std::to_string(i + 1);
    described += " || ')'";
    // It runs after the statement, which has reported its own errors by then.
    const std::string body =
        "DECLARE " + declare +
        "uniqguard_twice boolean := false; uniqguard_found boolean := false; BEGIN BEGIN "
        "uniqguard_twice := EXISTS (" +
        cte + "SELECT 1 FROM v" + keyed + " GROUP BY " + group +
        " HAVING count(*) > 1); IF NOT uniqguard_twice THEN " + cte + "SELECT " + select +
        " INTO " + into + " FROM v WHERE " + (nulls_distinct ? no_null + " AND " : "") +
        "(SELECT count(*)" + from_table(table, "t") + " WHERE " + same_in_table +
        ") > 1 ORDER BY v.uniqguard_row LIMIT 1; uniqguard_found := FOUND; END IF; "
        "EXCEPTION WHEN OTHERS THEN uniqguard_twice := false; uniqguard_found := false; END; "
        "IF uniqguard_twice THEN RAISE EXCEPTION USING ERRCODE = '21000', MESSAGE = "
        "'ON CONFLICT DO UPDATE command cannot affect row a second time', HINT = 'Ensure that "
        "no rows proposed for insertion within the same command have duplicate constrained "
        "values.'; END IF; IF uniqguard_found THEN "
        "RAISE EXCEPTION USING ERRCODE = '0A000', MESSAGE = " +
        quote_literal("uniqguard: ON CONFLICT DO UPDATE on table \"" + table.name +
                      "\" would update more than one row with key ") +
        " || " + described + " || " +
        quote_literal(" (legacy duplicates, which guard \"" + guard.name +
                      "\" keeps out of new writes only): the statement was refused") +
        ", HINT = " +
        quote_literal(
            "Remove the duplicates first (uniqguard dedupe), or update the rows by "
            "their own keys.") +
        "; END IF; END";
    return do_block(body);
}

std::string canonical_string_literals(std::string_view sql, bool standard_conforming_strings,
                                      bool client_utf8) {
    const sql::LexOptions options{.standard_conforming_strings = standard_conforming_strings};
    std::vector<sql::Token> tokens;
    sql::lex_postgres(sql, tokens, options);
    std::string out;
    std::size_t at = 0;
    for (const auto& t : tokens) {
        if (t.kind != sql::TokenKind::string && t.kind != sql::TokenKind::escape_string &&
            t.kind != sql::TokenKind::unicode_string)
            continue;
        // Unicode escapes decode to UTF-8 bytes, which another client encoding reads as other
        // characters: there such literals stay as written (they do not depend on the setting).
        if (!client_utf8 && t.kind != sql::TokenKind::string) continue;
        auto value = sql::decode_string_token(sql::token_text(sql, t), t.kind, options);
        if (!value) continue;
        out.append(sql.substr(at, t.offset - at));
        out += quote_literal(*value);
        at = t.end();
    }
    out.append(sql.substr(at));
    return out;
}

bool string_literals_decode(std::string_view sql, bool standard_conforming_strings) {
    const sql::LexOptions options{.standard_conforming_strings = standard_conforming_strings};
    std::vector<sql::Token> tokens;
    sql::lex_postgres(sql, tokens, options);
    for (const auto& t : tokens) {
        if (t.kind != sql::TokenKind::string && t.kind != sql::TokenKind::escape_string &&
            t.kind != sql::TokenKind::unicode_string)
            continue;
        // The server's lexer refuses U&'' outright with the setting off ("unsafe use of string
        // constant with Unicode escapes").
        if (t.kind == sql::TokenKind::unicode_string && !standard_conforming_strings) return false;
        if (!sql::decode_string_token(sql::token_text(sql, t), t.kind, options)) return false;
    }
    return true;
}

std::string stored_keys_probe(const GuardTable& table, const std::vector<KeySql>& keys) {
    std::string out;
    for (const auto& key : keys) {
        out += out.empty() ? "SELECT " : " UNION ALL SELECT ";
        for (std::size_t i = 0; i < key.size(); ++i) {
            const std::string v = cast_value(key[i], key_column(table, i));
            out += (i ? ", " : "") + std::string("CASE WHEN (") + v + ") IS NULL THEN NULL ELSE " +
                   as_database_bytes_hex("format('%s', " + v + ")") + " END";
        }
    }
    return out;
}

namespace {
// The suspected rows of a COPY as a CTE (row number, key values) and the condition on one of
// them, `v`, that a real index refuses its row: the table now holds more rows with its key than
// the COPY wrote from that row on. Every row of the COPY with a key from a suspected row's on is
// suspected too (the key set learnt the key at its first row), so the count of the CTE's rows
// from `v` on is the count of the COPY's.
struct CopyCheckParts {
    std::string cte;
    std::string refused;
};
CopyCheckParts copy_check_parts(const GuardTable& table, const std::vector<KeySql>& rows,
                                bool nulls_distinct) {
    const std::size_t n = table.key_columns.size();
    const std::string op = nulls_distinct ? " = " : " IS NOT DISTINCT FROM ";
    std::string same_in_copy, same_in_table, no_null;
    CopyCheckParts parts;
    parts.cte = "WITH uniqguard_v (uniqguard_row";
    for (std::size_t i = 0; i < n; ++i) {
        const std::string k = "uniqguard_n" + std::to_string(i + 1);
        const std::string sep = i ? " AND " : "";
        parts.cte += ", " + k;
        same_in_copy += sep + "s." + k + op + "v." + k;
        same_in_table += sep + "t." + quote_identifier(key_column(table, i).name) + op + "v." + k;
        no_null += sep + "v." + k + " IS NOT NULL";
    }
    parts.cte += ") AS (VALUES ";
    for (std::size_t r = 0; r < rows.size(); ++r) {
        parts.cte += r ? ", (" : "(";
        parts.cte += std::to_string(r);
        for (std::size_t i = 0; i < n; ++i)
            parts.cte += ", " + cast_value(rows[r][i], key_column(table, i));
        parts.cte += ")";
    }
    parts.cte += ") ";
    parts.refused = (nulls_distinct ? no_null + " AND " : std::string()) + "(SELECT count(*)" +
                    from_table(table, "t") + " WHERE " + same_in_table +
                    ") > (SELECT count(*) FROM uniqguard_v s WHERE s.uniqguard_row >= "
                    "v.uniqguard_row AND " +
                    same_in_copy + ")";
    return parts;
}
}  // namespace

std::string copy_reject_check(const GuardTable& table, const config::Guard& guard,
                              const std::vector<KeySql>& rows, bool nulls_distinct) {
    const std::size_t n = table.key_columns.size();
    const auto parts = copy_check_parts(table, rows, nulls_distinct);
    std::string declare = "DECLARE uniqguard_row integer; ", select, into, columns;
    for (std::size_t i = 0; i < n; ++i) {
        const std::string var = "uniqguard_k" + std::to_string(i + 1);
        declare += var + " text; ";
        select += ", " + output_of("v.uniqguard_n" + std::to_string(i + 1));
        into += ", " + var;
        columns += (i ? ", " : "") + quote_identifier(key_column(table, i).name);
    }
    std::string detail = quote_literal("Key (" + columns + ")=(");
    for (std::size_t i = 0; i < n; ++i)
        detail +=
            (i ? " || ', ' || " : " || ") + std::string("uniqguard_k") + std::to_string(i + 1);
    detail += " || " + quote_literal(") already exists.");
    const std::string body = declare + "BEGIN " + parts.cte + "SELECT v.uniqguard_row" + select +
                             " INTO uniqguard_row" + into + " FROM uniqguard_v v WHERE " +
                             parts.refused + " ORDER BY v.uniqguard_row LIMIT 1; IF FOUND THEN " +
                             raise_unique_violation(table, guard, row_marker(), detail) +
                             "; END IF; END";
    return do_block(body);
}

std::string copy_probe(const GuardTable& table, const std::vector<KeySql>& rows,
                       bool nulls_distinct) {
    const auto parts = copy_check_parts(table, rows, nulls_distinct);
    return parts.cte + "SELECT v.uniqguard_row FROM uniqguard_v v WHERE " + parts.refused +
           " ORDER BY v.uniqguard_row";
}

namespace {
std::string column_list(const std::vector<std::string>& columns, const std::string& prefix) {
    std::string out;
    for (std::size_t i = 0; i < columns.size(); ++i)
        out += (i ? ", " : "") + prefix + quote_identifier(columns[i]);
    return out;
}

// A held row `s` whose key the table has, or an earlier held row: skipped.
std::string held_row_skipped(const GuardTable& table, bool nulls_distinct) {
    const std::string op = nulls_distinct ? " = " : " IS NOT DISTINCT FROM ";
    std::string in_table, earlier;
    for (std::size_t i = 0; i < table.key_columns.size(); ++i) {
        const std::string c = quote_identifier(key_column(table, i).name);
        in_table += (i ? " AND " : "") + ("t." + c) + op + "s." + c;
        earlier += (i ? " AND " : "") + ("e." + c) + op + "s." + c;
    }
    return "(EXISTS (SELECT 1" + from_table(table, "t") + " WHERE " + in_table +
           ") OR EXISTS (SELECT 1 FROM " + std::string(copy_staging_table) +
           " e WHERE e.ctid < s.ctid AND " + earlier + "))";
}
}  // namespace

std::string copy_staging_create(const GuardTable& table, const std::vector<std::string>& columns) {
    // The columns alone, with their types: no constraint or default, which the INSERT into the
    // table applies.
    return "CREATE TEMP TABLE " + std::string(copy_staging_table.substr(8)) +
           " ON COMMIT DROP AS SELECT " + column_list(columns, "") + " FROM " +
           table.qualified_sql + " WITH NO DATA";
}

std::string copy_ignore_probe(const GuardTable& table, bool nulls_distinct) {
    // A fresh table filled by one COPY: its rows' ctid order is the order they came in.
    return "SELECT n - 1 FROM (SELECT row_number() OVER (ORDER BY s.ctid) AS n, " +
           held_row_skipped(table, nulls_distinct) + " AS skipped FROM " +
           std::string(copy_staging_table) + " s) q WHERE skipped ORDER BY n";
}

std::string copy_ignore_insert(const GuardTable& table, const std::vector<std::string>& columns,
                               bool nulls_distinct) {
    bool overriding = false;  // COPY writes GENERATED ALWAYS identity columns; INSERT must say so
    for (const auto& name : columns)
        for (const auto& col : table.columns)
            if (col.name == name && col.identity == 'a') overriding = true;
    return "INSERT INTO " + table.qualified_sql + " (" + column_list(columns, "") + ")" +
           (overriding ? " OVERRIDING SYSTEM VALUE" : "") + " SELECT " +
           column_list(columns, "s.") + " FROM " + std::string(copy_staging_table) +
           " s WHERE NOT " + held_row_skipped(table, nulls_distinct) + " ORDER BY s.ctid";
}

std::string copy_staging_drop() { return "DROP TABLE " + std::string(copy_staging_table); }

std::string refusal_block(std::string_view sqlstate, std::string_view message,
                          std::string_view hint) {
    std::string body = "BEGIN RAISE EXCEPTION USING ERRCODE = " + quote_literal(sqlstate) +
                       ", MESSAGE = " + quote_literal(message);
    if (!hint.empty()) body += ", HINT = " + quote_literal(hint);
    body += "; END";
    return do_block(body);
}

}  // namespace uniqguard::guard
