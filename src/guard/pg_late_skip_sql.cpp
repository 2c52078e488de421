#include "guard/pg_late_skip_sql.hpp"

#include "guard/pg_sql_literal.hpp"

namespace uniqguard::guard {

namespace {
const TableColumn* column_named(const GuardTable& table, const std::string& name) {
    for (const auto& c : table.columns)
        if (c.name == name) return &c;
    return nullptr;
}

std::string column_list(const std::vector<std::string>& columns, const std::string& prefix) {
    std::string out;
    for (std::size_t i = 0; i < columns.size(); ++i)
        out += (i ? ", " : "") + prefix + quote_identifier(columns[i]);
    return out;
}
}  // namespace

std::string late_skip_stage_name(const GuardTable& table, const config::Guard& guard,
                                 const std::vector<std::string>& columns, bool every_column) {
    std::vector<std::string> parts{guard.name, table.qualified_sql};
    if (every_column) parts.push_back("(every column, with the defaults)");
    for (const auto& name : columns) {
        parts.push_back(name);
        const auto* column = column_named(table, name);
        parts.push_back(column ? column->type_name : std::string());
    }
    return temp_table_name("uniqguard_stage_", parts);
}

namespace {
std::string late_skip_skipped_table(const GuardTable& table, const config::Guard& guard,
                                    const std::vector<std::string>& columns, bool every_column) {
    return "uniqguard_skipped_" +
           late_skip_stage_name(table, guard, columns, every_column).substr(16);
}
}  // namespace

std::string late_skip_stage_create(const GuardTable& table, const config::Guard& guard,
                                   const std::vector<std::string>& columns, bool every_column) {
    const std::string name = late_skip_stage_name(table, guard, columns, every_column);
    const std::string skipped = late_skip_skipped_table(table, guard, columns, every_column);
    std::string skipped_columns;
    for (std::size_t i = 0; i < table.key_columns.size(); ++i)
        skipped_columns += ", uniqguard_k" + std::to_string(i + 1) + " text";
    // The columns with the table's types (a domain stays a domain, a length stays), without
    // NOT NULL, CHECK or defaults: the INSERT into the table applies those. The identity column
    // numbers the rows in the order the client's INSERT produced them.
    std::string create = "CREATE TEMP TABLE " + name + " ON COMMIT DELETE ROWS AS SELECT " +
                         column_list(columns, "") + from_table(table, "") + " WITH NO DATA; ";
    if (every_column) {
        // The client's rows fill the first columns, the others take the table's defaults here
        // (a sequence's next value too, as the table's INSERT would take it for every row).
        create = "CREATE TEMP TABLE " + name + " (LIKE " + table.qualified_sql +
                 " INCLUDING DEFAULTS) ON COMMIT DELETE ROWS; ";
        std::string not_null;
        for (const auto& c : table.columns)
            if (c.not_null)
                not_null += (not_null.empty() ? "" : ", ") + std::string("ALTER COLUMN ") +
                            quote_identifier(c.name) + " DROP NOT NULL";
        if (!not_null.empty()) create += "ALTER TABLE pg_temp." + name + " " + not_null + "; ";
    }
    // Without a list the rows fill the table's columns as they are now, which the proxy names
    // in the table's INSERT as it read them: a column added or dropped since would be lost or
    // misplaced. Checked at every such INSERT; a reload reads the columns again.
    std::string same_columns;
    if (every_column) {
        std::string expected;
        for (const auto& c : table.columns)
            expected += (expected.empty() ? "" : ", ") + quote_literal(c.name);
        same_columns =
            "IF (SELECT pg_catalog.array_agg(attname::text ORDER BY attnum) FROM "
            "pg_catalog.pg_attribute WHERE attrelid = " +
            quote_literal(table.qualified_sql) +
            "::regclass AND attnum > 0 AND NOT attisdropped) IS DISTINCT FROM ARRAY[" + expected +
            "]::text[] THEN RAISE EXCEPTION USING ERRCODE = '0A000', MESSAGE = " +
            quote_literal("uniqguard: the columns of table \"" + table.schema + "." + table.name +
                          "\" changed since guard \"" + guard.name +
                          "\" read them: an INSERT without a column list that skips duplicates "
                          "is refused until a reload (SIGHUP) reads them again") +
            "; END IF; ";
    }
    // Made again for every such INSERT: its defaults are the table's as they are now (an
    // ALTER … SET DEFAULT since would leave an older stage with the old ones).
    const std::string remake =
        every_column ? "DROP TABLE IF EXISTS pg_temp." + name + "; " : std::string();
    return same_columns + remake + "IF pg_catalog.to_regclass(" + quote_literal("pg_temp." + name) +
           ") IS NULL THEN " + create + "ALTER TABLE pg_temp." + name +
           " ADD COLUMN uniqguard_row bigint GENERATED ALWAYS AS IDENTITY; " +
           temp_table_for_every_role(name) + " END IF; IF pg_catalog.to_regclass(" +
           quote_literal("pg_temp." + skipped) + ") IS NULL THEN CREATE TEMP TABLE " + skipped +
           " (uniqguard_row bigint" + skipped_columns + ") ON COMMIT DELETE ROWS; " +
           temp_table_for_every_role(skipped) + " END IF; ";
}

std::string late_skip_probe(const GuardTable& table, const config::Guard& guard,
                            const std::vector<std::string>& columns, bool every_column) {
    std::string values;
    for (std::size_t i = 0; i < table.key_columns.size(); ++i) {
        const std::string k = "uniqguard_k" + std::to_string(i + 1);
        values += (i ? ", " : "") + std::string("CASE WHEN ") + k + " IS NULL THEN NULL ELSE " +
                  as_database_bytes_hex(k) + " END";
    }
    return "WITH uniqguard_d AS (DELETE FROM pg_temp." +
           late_skip_skipped_table(table, guard, columns, every_column) + " RETURNING *) SELECT " +
           values + " FROM uniqguard_d ORDER BY uniqguard_row";
}

namespace {
// Appends `statement`'s [from, to) to `out`, noting where it landed.
void copy_piece(std::string& out, std::string_view statement, std::size_t from, std::size_t to,
                std::vector<CopiedText>* copies) {
    if (to <= from) return;
    if (copies) copies->push_back({out.size(), from, to - from});
    out.append(statement.substr(from, to - from));
}
}  // namespace

std::string late_skip_stage_fill(const GuardTable& table, const config::Guard& guard,
                                 const LateSkipInsert& insert, std::string_view statement,
                                 const LateSkipPieces& pieces, std::vector<CopiedText>* copies) {
    std::string out;
    copy_piece(out, statement, 0, pieces.with_end, copies);
    out += "INSERT INTO pg_temp." +
           late_skip_stage_name(table, guard, insert.columns, insert.every_column) + " ";
    copy_piece(out, statement, pieces.target_end, pieces.source_end, copies);
    out += "\nRETURNING ";
    for (std::size_t i = 0; i < table.key_columns.size(); ++i) {
        const std::string c = quote_identifier(table.columns[table.key_columns[i]].name);
        out += (i ? ", " : "") + std::string("CASE WHEN ") + c + " IS NULL THEN NULL ELSE " +
               as_database_bytes_hex("pg_catalog.format('%s', " + c + ")") + " END";
    }
    return out;
}

std::string late_skip_statement(const GuardTable& table, const config::Guard& guard,
                                const LateSkipInsert& insert, std::string_view statement,
                                const LateSkipPieces& pieces, std::string_view wrap_prefix,
                                std::vector<CopiedText>* copies) {
    std::string out;
    auto copy = [&](std::size_t from, std::size_t to) {
        copy_piece(out, statement, from, to, copies);
    };
    // The stage holds this statement's rows only: each use takes them all out.
    out += "WITH uniqguard_stage AS (DELETE FROM pg_temp." +
           late_skip_stage_name(table, guard, insert.columns, insert.every_column) +
           " RETURNING *)";
    const std::string op = insert.nulls_distinct ? " = " : " IS NOT DISTINCT FROM ";
    std::string keys, first, in_table, skipped_keys;
    for (std::size_t i = 0; i < table.key_columns.size(); ++i) {
        const std::string c = quote_identifier(table.columns[table.key_columns[i]].name);
        keys += (i ? ", " : "") + c;
        if (insert.nulls_distinct) first += " OR s." + c + " IS NULL";
        in_table += (i ? " AND " : "") + ("uniqguard_t." + c) + op + "s." + c;
        skipped_keys += ", pg_catalog.format('%s', " + c + ")";
    }
    // A row with NULL in a NOT NULL column goes on, for the server's 23502. (A NOT NULL column
    // left out is not taken as NULL: a domain's default or a trigger may fill it, unseen here.)
    std::string null_in_not_null;
    for (const auto& name : insert.columns)
        if (const auto* column = column_named(table, name); column && column->not_null)
            null_in_not_null += " OR s." + quote_identifier(name) + " IS NULL";
    // Each row with whether it goes on: the first with its key in the statement (a key with a
    // NULL is never a duplicate unless NULLS NOT DISTINCT) whose key the table does not have.
    out += ", uniqguard_s AS (SELECT s.*, ((s.uniqguard_nth = 1" + first +
           ") AND NOT EXISTS (SELECT 1" + from_table(table, "uniqguard_t") + " WHERE " + in_table +
           "))" + null_in_not_null +
           " AS uniqguard_keep FROM (SELECT uniqguard_stage.*, pg_catalog.row_number() OVER "
           "(PARTITION BY " +
           keys +
           " ORDER BY uniqguard_stage.uniqguard_row) AS uniqguard_nth FROM uniqguard_stage) AS s), "
           // The skipped rows' keys, for the duplicate log (late_skip_probe); a data-modifying
           // CTE, so it runs whatever the rest reads.
           "uniqguard_skip AS (INSERT INTO pg_temp." +
           late_skip_skipped_table(table, guard, insert.columns, insert.every_column) +
           " SELECT uniqguard_row" + skipped_keys + " FROM uniqguard_s WHERE NOT uniqguard_keep)";
    out += wrap_prefix;
    out += "INSERT INTO ";
    copy(pieces.target_begin, pieces.target_end);
    if (!insert.alias.empty()) out += " AS " + quote_identifier(insert.alias);
    out += " (" + column_list(insert.columns, "") + ")";
    if (!insert.overriding.empty()) out += " " + insert.overriding;
    out += " SELECT " + column_list(insert.columns, "uniqguard_s.") +
           " FROM uniqguard_s WHERE uniqguard_s.uniqguard_keep ORDER BY uniqguard_s.uniqguard_row";
    if (insert.keep_conflict_clause && pieces.conflict_end > pieces.conflict_begin) {
        out += "\n";
        copy(pieces.conflict_begin, pieces.conflict_end);
    }
    if (pieces.returning_end > pieces.returning_begin) {
        out += "\nRETURNING ";
        copy(pieces.returning_begin, pieces.returning_end);
    }
    return out;
}

}  // namespace uniqguard::guard
