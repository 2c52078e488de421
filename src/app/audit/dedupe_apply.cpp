#include "dedupe_apply.hpp"

namespace uniqguard::app::audit {

namespace {

constexpr const char* doomed_table = "uniqguard_doomed";

std::uint64_t count(ToolDb& db, const std::string& sql) {
    auto rows = db.query(sql);
    if (rows.empty() || rows[0].empty() || !rows[0][0]) throw DbError("no count from: " + sql);
    return std::stoull(*rows[0][0]);
}

void lock_table(ToolDb& db, const TableInfo& t) {
    if (db.flavour() == Flavour::postgres) {
        db.execute("LOCK TABLE " + t.sql + " IN SHARE ROW EXCLUSIVE MODE");
    } else {
        db.query("SELECT COUNT(*) FROM " + t.sql + " FOR UPDATE");
    }
}

void create_doomed(ToolDb& db, const DuplicateSql& sql) {
    if (db.flavour() == Flavour::postgres) {
        db.execute(std::string("CREATE TEMP TABLE ") + doomed_table + " ON COMMIT DROP AS " +
                   sql.doomed_rows());
    } else {
        // CREATE TEMPORARY TABLE does not commit implicitly; it stays out of the rollback.
        db.execute(std::string("DROP TEMPORARY TABLE IF EXISTS ") + doomed_table);
        db.execute(std::string("CREATE TEMPORARY TABLE ") + doomed_table + " AS " +
                   sql.doomed_rows());
    }
}

void drop_doomed(ToolDb& db) {
    if (db.flavour() == Flavour::mysql) {
        db.execute(std::string("DROP TEMPORARY TABLE IF EXISTS ") + doomed_table);
    }
}

}  // namespace

std::vector<std::pair<const ForeignKeyRef*, std::uint64_t>> count_references(
    ToolDb& db, const TableInfo& table, const DuplicateSql& sql, const std::string& doomed) {
    std::vector<std::pair<const ForeignKeyRef*, std::uint64_t>> out;
    for (const auto& fk : table.referenced_by) {
        if (auto n = count(db, sql.references_count(fk, doomed)); n > 0) out.emplace_back(&fk, n);
    }
    return out;
}

ApplyResult apply_dedupe(ToolDb& db, const TableInfo& t, const DuplicateSql& sql,
                         const std::string& guard_name, const std::string& quarantine_name,
                         const std::string& quarantine_sql, bool repoint, Progress& progress) {
    progress.step("creating " + quarantine_sql);
    db.execute(sql.create_quarantine(quarantine_sql));
    if (db.flavour() == Flavour::mysql) {
        // A quarantine table left by someone else in an engine without transactions would keep
        // the copied rows of a run that rolls back.
        const auto engine = db.query(
            "SELECT COALESCE(e.TRANSACTIONS, 'NO') FROM information_schema.TABLES t "
            "LEFT JOIN information_schema.ENGINES e ON e.ENGINE = t.ENGINE WHERE "
            "t.TABLE_SCHEMA = " +
            db.quote_literal(t.schema) +
            " AND t.TABLE_NAME = " + db.quote_literal(quarantine_name));
        if (engine.empty() || !engine[0][0] || *engine[0][0] != "YES") {
            throw DbError("the quarantine table " + quarantine_sql +
                          " exists in an engine without transactions: a failure could not "
                          "roll its rows back");
        }
    }

    if (db.flavour() == Flavour::mysql) {
        // Gap locks, which stop inserts, exist only under REPEATABLE READ and SERIALIZABLE.
        db.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ");
        db.execute("START TRANSACTION");
    } else {
        db.execute("BEGIN");
    }
    ApplyResult result;
    try {
        progress.step("waiting for the lock on " + t.display);
        lock_table(db, t);
        progress.step("finding the rows to remove");
        create_doomed(db, sql);
        const std::uint64_t doomed = count(db, std::string("SELECT COUNT(*) FROM ") + doomed_table);

        for (const auto& [fk, n] : count_references(db, t, sql, doomed_table)) {
            if (!repoint) {
                throw DbError(std::to_string(n) + " rows of " + fk->table_display +
                              " (foreign key " + fk->name +
                              ") point at rows to remove: refused; --repoint moves them to the "
                              "row kept in each group");
            }
            progress.step("repointing " + fk->table_display);
            result.repointed.emplace_back(fk->table_display,
                                          db.execute(sql.repoint(*fk, doomed_table)));
        }

        progress.step("copying " + std::to_string(doomed) + " rows to " + quarantine_sql);
        const std::uint64_t copied =
            db.execute(sql.copy_to_quarantine(quarantine_sql, guard_name, doomed_table));
        progress.step("deleting " + std::to_string(doomed) + " rows");
        const std::uint64_t deleted = db.execute(sql.delete_doomed(doomed_table));
        if (copied != doomed || deleted != doomed) {
            throw DbError("rows to remove: " + std::to_string(doomed) + ", copied to quarantine: " +
                          std::to_string(copied) + ", deleted: " + std::to_string(deleted) +
                          " (a trigger or rule changed the statements' effect)");
        }
        progress.step("checking that no duplicate group remains");
        if (auto left = count(db, sql.remaining_groups()); left != 0) {
            throw DbError(std::to_string(left) + " duplicate groups remain after the delete");
        }
        progress.step("committing");
        db.execute("COMMIT");
        result.moved = doomed;
    } catch (const DbError&) {
        try {
            db.execute("ROLLBACK");
            drop_doomed(db);
        } catch (const DbError&) {
            // The connection is gone: the server rolls the transaction back itself.
        }
        throw;
    }
    drop_doomed(db);
    return result;
}

}  // namespace uniqguard::app::audit
