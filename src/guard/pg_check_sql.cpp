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

std::string insert_log_probe(const GuardTable& table, const InsertCheck& check) {
    std::string out = "SELECT ";
    for (std::size_t i = 0; i < check.events.size(); ++i) {
        const auto& e = check.events[i];
        if (i) out += ", ";
        if (e.kind == KeyEvent::Kind::repeat) {
            out += "1";
        } else {
            out += "CASE WHEN (SELECT count(*)" + from_table(table, "") + " WHERE " +
                   key_condition(table, check.keys[e.key]) + ") > " +
                   std::to_string(check.occurrences[e.key]) + " THEN 1 ELSE 0 END";
        }
    }
    return out;
}

namespace {
std::string not_updated(const UpdateCheck& check) {
    return check.where.empty() ? "false" : "((" + check.where + ") IS NOT TRUE)";
}
std::string updated(const UpdateCheck& check) {
    return check.where.empty() ? "true" : "(" + check.where + ")";
}
}  // namespace

std::string update_reject_check(const GuardTable& table, const config::Guard& guard,
                                const UpdateCheck& check) {
    const std::string raise = raise_duplicate(table, guard, check.key, 0);
    std::string body = "DECLARE uniqguard_rows bigint; BEGIN IF EXISTS (SELECT 1" +
                       from_table(table, check.alias) + " WHERE " +
                       key_condition(table, check.key) + " AND " + not_updated(check) + ") THEN " +
                       raise + " END IF; SELECT count(*) INTO uniqguard_rows" +
                       from_table(table, check.alias) + " WHERE " + updated(check) +
                       "; IF uniqguard_rows > 1 THEN " + raise + " END IF; END";
    return do_block(body);
}

std::string update_log_probe(const GuardTable& table, const UpdateCheck& check) {
    return "SELECT CASE WHEN EXISTS (SELECT 1" + from_table(table, check.alias) + " WHERE " +
           key_condition(table, check.key) + " AND " + not_updated(check) +
           ") OR (SELECT count(*)" + from_table(table, check.alias) + " WHERE " + updated(check) +
           ") > 1 THEN 1 ELSE 0 END";
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
