#include "duplicate_sql.hpp"

#include <utility>

#include "util/join.hpp"

namespace uniqguard::app::audit {

namespace {

using util::join;

}  // namespace

DuplicateSql::DuplicateSql(const ToolDb& db, const TableInfo& table, bool nulls_distinct,
                           RowOrder order)
    : db_(db), t_(table), nulls_distinct_(nulls_distinct), order_(std::move(order)) {}

std::string DuplicateSql::key_list(const std::string& alias) const {
    std::vector<std::string> parts;
    for (const auto& k : t_.key) parts.push_back((alias.empty() ? "" : alias + ".") + q(k));
    return join(parts, ", ");
}

std::string DuplicateSql::not_null(const std::string& alias) const {
    std::vector<std::string> parts;
    for (const auto& k : t_.key) {
        parts.push_back((alias.empty() ? "" : alias + ".") + q(k) + " IS NOT NULL");
    }
    return join(parts, " AND ");
}

std::string DuplicateSql::source() const {
    const std::string ctid = t_.identity_is_ctid ? "o.ctid AS uniqguard_ctid, " : "";
    if (nulls_distinct_) {
        std::vector<std::string> on;
        for (const auto& k : t_.key) on.push_back("o." + q(k) + " = d." + q(k));
        return "(SELECT o.*, " + ctid + "d.uniqguard_g FROM " + t_.sql + " o JOIN (SELECT " +
               key_list("") + ", ROW_NUMBER() OVER (ORDER BY " + key_list("") +
               ") AS uniqguard_g FROM " + t_.sql + " WHERE " + not_null("") + " GROUP BY " +
               key_list("") + " HAVING COUNT(*) > 1) d ON " + join(on, " AND ") + ") x";
    }
    return "(SELECT y.* FROM (SELECT o.*, " + ctid + "DENSE_RANK() OVER (ORDER BY " +
           key_list("o") + ") AS uniqguard_g, COUNT(*) OVER (PARTITION BY " + key_list("o") +
           ") AS uniqguard_n FROM " + t_.sql + " o) y WHERE y.uniqguard_n > 1) x";
}

std::string DuplicateSql::identity(const std::string& alias, std::size_t i) const {
    if (t_.identity_is_ctid) return alias + (alias == "x" ? ".uniqguard_ctid" : ".ctid");
    return alias + "." + q(t_.identity[i]);
}

std::string DuplicateSql::row_order(const std::string& alias) const {
    const std::string dir = order_.newest ? " DESC" : " ASC";
    std::vector<std::string> parts;
    if (order_.order_by) {
        const std::string col = alias + "." + q(*order_.order_by);
        parts.push_back("(" + col + " IS NULL) ASC");  // NULLs last in both directions
        parts.push_back(col + dir);
    }
    for (std::size_t i = 0; i < t_.identity.size(); ++i) parts.push_back(identity(alias, i) + dir);
    return join(parts, ", ");
}

std::string DuplicateSql::duplicate_rows() const {
    std::vector<std::string> cols{"x.uniqguard_g"};
    for (const auto& k : t_.key) cols.push_back("x." + q(k));
    for (std::size_t i = 0; i < t_.identity.size(); ++i) cols.push_back(identity("x", i));
    const std::string order = t_.identity.empty() ? "" : ", " + row_order("x");
    return "SELECT " + join(cols, ", ") + " FROM " + source() + " ORDER BY x.uniqguard_g" + order;
}

std::string DuplicateSql::doomed_rows() const {
    const std::string window = " OVER (PARTITION BY x.uniqguard_g ORDER BY " + row_order("x") + ")";
    std::vector<std::string> cols;
    for (std::size_t i = 0; i < t_.identity.size(); ++i) {
        cols.push_back(identity("x", i) + " AS uniqguard_i" + std::to_string(i + 1));
    }
    for (std::size_t i = 0; i < t_.identity.size(); ++i) {
        cols.push_back("FIRST_VALUE(" + identity("x", i) + ")" + window + " AS uniqguard_k" +
                       std::to_string(i + 1));
    }
    cols.push_back("ROW_NUMBER()" + window + " AS uniqguard_rn");
    return "SELECT s.* FROM (SELECT " + join(cols, ", ") + " FROM " + source() +
           ") s WHERE s.uniqguard_rn > 1";
}

std::string DuplicateSql::remaining_groups() const {
    const std::string where = nulls_distinct_ ? " WHERE " + not_null("") : "";
    return "SELECT COUNT(*) FROM (SELECT 1 AS one FROM " + t_.sql + where + " GROUP BY " +
           key_list("") + " HAVING COUNT(*) > 1) v";
}

std::string DuplicateSql::identity_match(const std::string& alias, const std::string& doomed,
                                         const std::string& prefix) const {
    std::vector<std::string> parts;
    for (std::size_t i = 0; i < t_.identity.size(); ++i) {
        parts.push_back(identity(alias, i) + " = " + doomed + "." + prefix + std::to_string(i + 1));
    }
    return join(parts, " AND ");
}

std::string DuplicateSql::references_count(const ForeignKeyRef& fk,
                                           const std::string& doomed) const {
    std::vector<std::string> on;
    for (std::size_t i = 0; i < fk.columns.size(); ++i) {
        on.push_back("r." + q(fk.columns[i]) + " = o." + q(fk.referenced[i]));
    }
    return "SELECT COUNT(*) FROM " + fk.table_sql + " r JOIN " + t_.sql + " o ON " +
           join(on, " AND ") + " JOIN " + doomed + " d ON " +
           identity_match("o", "d", "uniqguard_i");
}

std::string DuplicateSql::repoint(const ForeignKeyRef& fk, const std::string& doomed) const {
    std::vector<std::string> on, set;
    for (std::size_t i = 0; i < fk.columns.size(); ++i) {
        on.push_back("r." + q(fk.columns[i]) + " = o." + q(fk.referenced[i]));
    }
    if (db_.flavour() == Flavour::postgres) {
        for (std::size_t i = 0; i < fk.columns.size(); ++i) {
            set.push_back(q(fk.columns[i]) + " = k." + q(fk.referenced[i]));
        }
        return "UPDATE " + fk.table_sql + " r SET " + join(set, ", ") + " FROM " + doomed + " d, " +
               t_.sql + " o, " + t_.sql + " k WHERE " + identity_match("o", "d", "uniqguard_i") +
               " AND " + identity_match("k", "d", "uniqguard_k") + " AND " + join(on, " AND ");
    }
    for (std::size_t i = 0; i < fk.columns.size(); ++i) {
        set.push_back("r." + q(fk.columns[i]) + " = k." + q(fk.referenced[i]));
    }
    return "UPDATE " + fk.table_sql + " r JOIN " + t_.sql + " o ON " + join(on, " AND ") +
           " JOIN " + doomed + " d ON " + identity_match("o", "d", "uniqguard_i") + " JOIN " +
           t_.sql + " k ON " + identity_match("k", "d", "uniqguard_k") + " SET " + join(set, ", ");
}

std::string DuplicateSql::copy_to_quarantine(const std::string& quarantine_sql,
                                             const std::string& guard,
                                             const std::string& doomed) const {
    std::vector<std::string> cols, values;
    for (const auto& c : t_.columns) {
        cols.push_back(q(c));
        values.push_back("o." + q(c));
    }
    const std::string now = db_.flavour() == Flavour::postgres ? "now()" : "NOW(6)";
    return "INSERT INTO " + quarantine_sql + " (" + join(cols, ", ") +
           ", quarantined_at, guard) SELECT " + join(values, ", ") + ", " + now + ", " +
           db_.quote_literal(guard) + " FROM " + t_.sql + " o JOIN " + doomed + " d ON " +
           identity_match("o", "d", "uniqguard_i");
}

std::string DuplicateSql::delete_doomed(const std::string& doomed) const {
    if (db_.flavour() == Flavour::postgres) {
        return "DELETE FROM " + t_.sql + " o USING " + doomed + " d WHERE " +
               identity_match("o", "d", "uniqguard_i");
    }
    return "DELETE o FROM " + t_.sql + " o JOIN " + doomed + " d ON " +
           identity_match("o", "d", "uniqguard_i");
}

std::string DuplicateSql::create_quarantine(const std::string& quarantine_sql) const {
    if (db_.flavour() == Flavour::postgres) {
        return "CREATE TABLE IF NOT EXISTS " + quarantine_sql +
               " AS SELECT o.*, now() AS quarantined_at, ''::text AS guard FROM " + t_.sql +
               " o WITH NO DATA";
    }
    return "CREATE TABLE IF NOT EXISTS " + quarantine_sql +
           " ENGINE = InnoDB AS SELECT o.*, NOW(6) AS quarantined_at, "
           "CAST('' AS CHAR(255)) AS guard FROM " +
           t_.sql + " o WHERE 1 = 0";
}

}  // namespace uniqguard::app::audit
