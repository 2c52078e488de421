#include "guard/pg_check_sql.hpp"

#include "guard/pg_sql_literal.hpp"

namespace uniqguard::guard {

namespace {
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

// The server's BuildIndexValueDescription: "Key (a, b)=(1, x) already exists." with the values
// written by their types' output functions and NULL as "null".
std::string detail_expression(const GuardTable& table, const KeySql& key) {
    std::string columns;
    for (std::size_t i = 0; i < key.size(); ++i) {
        if (i) columns += ", ";
        columns += quote_identifier(key_column(table, i).name);
    }
    std::string out = quote_literal("Key (" + columns + ")=(");
    for (std::size_t i = 0; i < key.size(); ++i) {
        if (i) out += " || " + quote_literal(", ");
        // format('%s') calls the type's output function (a cast to text would cut a char(n)'s
        // padding, which the server's message keeps).
        const std::string v = cast_value(key[i], key_column(table, i));
        out += " || CASE WHEN (" + v + ") IS NULL THEN 'null' ELSE format('%s', " + v + ") END";
    }
    out += " || " + quote_literal(") already exists.");
    return out;
}

// COLUMN carries the event's number to the proxy, which removes it before the client sees the
// error (a real unique violation has no column field).
std::string raise_duplicate(const GuardTable& table, const config::Guard& guard, const KeySql& key,
                            std::size_t event) {
    return "RAISE EXCEPTION USING ERRCODE = '23505', COLUMN = '" +
           std::string(event_marker_prefix) + std::to_string(event) + "', MESSAGE = " +
           quote_literal("duplicate key value violates unique constraint \"" + guard.name + "\"") +
           ", DETAIL = " + detail_expression(table, key) +
           ", SCHEMA = " + quote_literal(table.schema) + ", TABLE = " + quote_literal(table.name) +
           ", CONSTRAINT = " + quote_literal(guard.name) + ";";
}

std::string do_block(const std::string& body) {
    const std::string tag = dollar_quote_tag(body);
    return "DO " + tag + body + tag;
}

// ONLY for a plain table: a unique index on it does not cover inheritance children (and the key
// set is loaded the same way); a partitioned table's rows are all in its partitions.
std::string from_table(const GuardTable& table, const std::string& alias) {
    std::string out = (table.kind == 'r' ? " FROM ONLY " : " FROM ") + table.qualified_sql;
    if (!alias.empty()) out += " AS " + quote_identifier(alias);
    return out;
}
}  // namespace

std::string insert_reject_check(const GuardTable& table, const config::Guard& guard,
                                const InsertCheck& check) {
    std::string body = "DECLARE uniqguard_rows bigint; BEGIN ";
    for (std::size_t i = 0; i < check.events.size(); ++i) {
        const auto& e = check.events[i];
        const KeySql& key = check.keys[e.key];
        if (e.kind == KeyEvent::Kind::repeat) {
            // The second row with one key conflicts with the first whatever the table holds;
            // nothing after it can be reached.
            body += raise_duplicate(table, guard, key, i) + " ";
            break;
        }
        // After the INSERT, a key the statement wrote m times is a duplicate of an older row
        // when more than m rows have it.
        body += "SELECT count(*) INTO uniqguard_rows" + from_table(table, "") + " WHERE " +
                key_condition(table, key) + "; IF uniqguard_rows > " +
                std::to_string(check.occurrences[e.key]) + " THEN " +
                raise_duplicate(table, guard, key, i) + " END IF; ";
    }
    body += "END";
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

std::string insert_skipping_duplicates(const GuardTable& table, const config::Guard&,
                                       const InsertRewrite& ins) {
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
    out += " SELECT ";
    for (std::size_t i = 0; i < ins.columns.size(); ++i)
        out += (i ? ", " : "") + std::string("uniqguard_v.") + value_column(i);
    out += " FROM (VALUES ";
    for (std::size_t r = 0; r < ins.values.size(); ++r) {
        out += r ? ", (" : "(";
        for (std::size_t i = 0; i < ins.values[r].size() && i < ins.columns.size(); ++i) {
            // Typed here as the INSERT's assignment would type them: a VALUES list in FROM
            // would otherwise read untyped literals as text.
            const TableColumn* c = column_of(ins.columns[i]);
            out += "CAST((" + ins.values[r][i] + ") AS " + (c ? c->type_name : "text") + "), ";
        }
        out += std::to_string(r + 1) + ")";
    }
    out += ") AS uniqguard_v(";
    for (std::size_t i = 0; i < ins.columns.size(); ++i) out += value_column(i) + ", ";
    out += "uniqguard_row) WHERE ";
    // The key's columns in the VALUES list; a key column the rows do not fill is NULL (no
    // default: the planner refused those), so such a row never conflicts.
    std::string match;
    bool key_filled = true;
    for (std::size_t k = 0; k < table.key_columns.size(); ++k) {
        const auto& col = table.columns[table.key_columns[k]];
        std::size_t at = ins.columns.size();
        for (std::size_t i = 0; i < ins.columns.size(); ++i)
            if (ins.columns[i] == col.name) at = i;
        if (at == ins.columns.size()) key_filled = false;
        if (!match.empty()) match += " AND ";
        match += "uniqguard_t." + quote_identifier(col.name) + " = uniqguard_v." + value_column(at);
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
                " AS uniqguard_t WHERE " + match + ")";
    // A row with NULL in a NOT NULL column is kept whatever its key: the server checks NOT NULL
    // before the unique index, so the client gets 23502 as it would.
    std::string not_null_violation;
    for (std::size_t i = 0; i < ins.columns.size(); ++i) {
        const TableColumn* c = column_of(ins.columns[i]);
        if (c && c->not_null)
            not_null_violation += " OR uniqguard_v." + value_column(i) + " IS NULL";
    }
    out += "((" + keep + ")" + not_null_violation + ")";
    out += " ORDER BY uniqguard_v.uniqguard_row";
    if (ins.keep_conflict_clause) out += " ON CONFLICT DO NOTHING";
    if (!ins.returning.empty()) out += " RETURNING " + ins.returning;
    return out;
}

namespace {
// The moved rows as a CTE: each with its row identity and its new key (uniqguard_n1..n).
std::string moved_rows_cte(const GuardTable& table, const UpdateCheck& check) {
    const std::string ref = quote_identifier(check.alias.empty() ? table.name : check.alias);
    std::string new_key, old_key;
    std::string out = "WITH uniqguard_moved AS (SELECT " + ref + ".tableoid AS uniqguard_rel, " +
                      ref + ".ctid AS uniqguard_row";
    for (std::size_t i = 0; i < check.key.size(); ++i) {
        const auto& col = key_column(table, i);
        const std::string current = ref + "." + quote_identifier(col.name);
        const std::string value = check.assigned[i] ? cast_value(check.key[i], col) : current;
        out += ", " + value + " AS uniqguard_n" + std::to_string(i + 1);
        new_key += (i ? ", " : "") + value;
        old_key += (i ? ", " : "") + current;
    }
    out += from_table(table, check.alias) + " WHERE ";
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

std::string output_of(const std::string& v) {
    return "CASE WHEN " + v + " IS NULL THEN 'null' ELSE format('%s', " + v + ") END";
}
}  // namespace

std::string update_reject_check(const GuardTable& table, const config::Guard& guard,
                                const UpdateCheck& check) {
    std::string declare = "DECLARE ";
    std::string select = moved_rows_cte(table, check) + " SELECT ";
    std::string into = " INTO ";
    std::string columns;
    std::string detail = quote_literal("Key (");
    for (std::size_t i = 0; i < check.key.size(); ++i) {
        const std::string var = "uniqguard_k" + std::to_string(i + 1);
        declare += var + " text; ";
        select += (i ? ", " : "") + output_of("m.uniqguard_n" + std::to_string(i + 1));
        into += (i ? ", " : "") + var;
        columns += (i ? ", " : "") + quote_identifier(key_column(table, i).name);
    }
    detail = quote_literal("Key (" + columns + ")=(");
    for (std::size_t i = 0; i < check.key.size(); ++i)
        detail +=
            (i ? " || ', ' || " : " || ") + std::string("uniqguard_k") + std::to_string(i + 1);
    detail += " || " + quote_literal(") already exists.");
    const std::string body =
        declare + "BEGIN " + select + into + conflicting_moved_rows(table, check) +
        " LIMIT 1; IF FOUND THEN RAISE EXCEPTION USING ERRCODE = '23505', COLUMN = '" +
        std::string(event_marker_prefix) + "0', MESSAGE = " +
        quote_literal("duplicate key value violates unique constraint \"" + guard.name + "\"") +
        ", DETAIL = " + detail + ", SCHEMA = " + quote_literal(table.schema) +
        ", TABLE = " + quote_literal(table.name) + ", CONSTRAINT = " + quote_literal(guard.name) +
        "; END IF; END";
    return do_block(body);
}

std::string update_log_probe(const GuardTable& table, const UpdateCheck& check) {
    return moved_rows_cte(table, check) + " SELECT CASE WHEN EXISTS (SELECT 1" +
           conflicting_moved_rows(table, check) + ") THEN 1 ELSE 0 END";
}

std::string update_new_keys(const GuardTable& table, const UpdateCheck& check) {
    std::string out = moved_rows_cte(table, check) + " SELECT ";
    for (std::size_t i = 0; i < check.key.size(); ++i)
        out += (i ? ", " : "") + std::string("CASE WHEN uniqguard_n") + std::to_string(i + 1) +
               " IS NULL THEN NULL ELSE format('%s', uniqguard_n" + std::to_string(i + 1) + ") END";
    return out + " FROM uniqguard_moved";
}

std::string refusal_block(std::string_view sqlstate, std::string_view message,
                          std::string_view hint) {
    std::string body = "BEGIN RAISE EXCEPTION USING ERRCODE = " + quote_literal(sqlstate) +
                       ", MESSAGE = " + quote_literal(message);
    if (!hint.empty()) body += ", HINT = " + quote_literal(hint);
    body += "; END";
    return do_block(body);
}

}  // namespace uniqguard::guard
