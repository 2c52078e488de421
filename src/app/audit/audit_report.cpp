#include "audit_report.hpp"

#include <algorithm>

#include "util/join.hpp"

namespace uniqguard::app::audit {

namespace {

using util::join;

// Columns aligned with two spaces between them; the last column is not padded.
std::string aligned(const std::vector<std::vector<std::string>>& lines, const std::string& indent) {
    std::vector<std::size_t> width;
    for (const auto& l : lines) {
        width.resize(std::max(width.size(), l.size()));
        for (std::size_t i = 0; i < l.size(); ++i) width[i] = std::max(width[i], l[i].size());
    }
    std::string out;
    for (const auto& l : lines) {
        std::string line = indent;
        for (std::size_t i = 0; i < l.size(); ++i) {
            line += l[i];
            if (i + 1 < l.size()) line += std::string(width[i] - l[i].size() + 2, ' ');
        }
        out += line + "\n";
    }
    return out;
}

std::string header(const GuardResult& r) {
    return "guard " + r.guard + " (" + r.table + ": " + join(r.key, ", ") + ")\n";
}

std::string more(const GuardResult& r, std::uint64_t limit) {
    if (r.duplicates.groups <= limit) return {};
    return "  (" + std::to_string(r.duplicates.shown.size()) + " of " +
           std::to_string(r.duplicates.groups) + " groups shown; --limit shows more)\n";
}

boost::json::value json_value(const Value& v) {
    if (!v) return nullptr;
    return boost::json::string(*v);
}

}  // namespace

std::string show_value(const Value& v) { return v ? *v : "NULL"; }

std::string show_identity(const Row& id) {
    if (id.size() == 1) return show_value(id[0]);
    std::vector<std::string> parts;
    for (const auto& v : id) parts.push_back(show_value(v));
    return "(" + join(parts, ", ") + ")";
}

std::string render_audit(const GuardResult& r, std::uint64_t limit) {
    std::string out = header(r);
    if (!r.error.empty()) return out + "  error: " + r.error + "\n";
    const DuplicateSummary& d = r.duplicates;
    if (d.groups == 0) return out + "  no duplicates\n";
    out += "  " + std::to_string(d.groups) + " duplicate groups, " + std::to_string(d.rows) +
           " rows in them, " + std::to_string(d.excess()) + " to remove to leave one row per key\n";
    if (d.shown.empty()) return out;
    std::vector<std::vector<std::string>> lines;
    std::vector<std::string> head = r.key;
    head.push_back("rows");
    if (!r.identity.empty()) head.push_back(join(r.identity, ", "));
    lines.push_back(head);
    for (const auto& g : d.shown) {
        std::vector<std::string> l;
        for (const auto& v : g.key) l.push_back(show_value(v));
        l.push_back(std::to_string(g.count));
        if (!r.identity.empty()) {
            std::vector<std::string> ids;
            for (const auto& id : g.rows) ids.push_back(show_identity(id));
            l.push_back(join(ids, " "));
        }
        lines.push_back(std::move(l));
    }
    return out + aligned(lines, "  ") + more(r, limit);
}

std::string render_plan(const GuardResult& r, std::uint64_t limit, bool newest,
                        const std::string& order_by) {
    std::string out = header(r);
    const DuplicateSummary& d = r.duplicates;
    const std::string ids = join(r.identity, ", ");
    const std::string rule = order_by.empty()
                                 ? std::string(newest ? "largest " : "smallest ") + ids
                                 : std::string(newest ? "largest " : "smallest ") + order_by +
                                       " (ties: " + (newest ? "largest " : "smallest ") + ids + ")";
    out +=
        "  keep " + std::string(newest ? "newest" : "oldest") + ": the row with the " + rule + "\n";
    out += "  " + std::to_string(d.groups) + " duplicate groups, " + std::to_string(d.excess()) +
           " rows to remove, " + std::to_string(d.groups) + " kept\n";
    if (d.shown.empty()) return out;
    std::vector<std::vector<std::string>> lines;
    std::vector<std::string> head = r.key;
    head.push_back("keep " + ids);
    head.push_back("remove " + ids);
    lines.push_back(head);
    for (const auto& g : d.shown) {
        std::vector<std::string> l;
        for (const auto& v : g.key) l.push_back(show_value(v));
        std::vector<std::string> removed;
        for (std::size_t i = 1; i < g.rows.size(); ++i) removed.push_back(show_identity(g.rows[i]));
        l.push_back(g.rows.empty() ? "" : show_identity(g.rows[0]));
        l.push_back(join(removed, " "));
        lines.push_back(std::move(l));
    }
    return out + aligned(lines, "  ") + more(r, limit);
}

boost::json::object audit_json(const GuardResult& r, std::uint64_t limit) {
    boost::json::object o;
    o["guard"] = r.guard;
    o["table"] = r.table;
    boost::json::array key;
    for (const auto& k : r.key) key.emplace_back(boost::json::string(k));
    o["columns"] = std::move(key);
    if (!r.error.empty()) {
        o["error"] = r.error;
        return o;
    }
    boost::json::array identity;
    for (const auto& c : r.identity) identity.emplace_back(boost::json::string(c));
    o["identity"] = std::move(identity);
    const DuplicateSummary& d = r.duplicates;
    o["duplicate_groups"] = d.groups;
    o["rows_in_groups"] = d.rows;
    o["rows_to_remove"] = d.excess();
    o["groups_shown"] = d.shown.size();
    o["limit"] = limit;
    boost::json::array groups;
    for (const auto& g : d.shown) {
        boost::json::object go;
        boost::json::array kv;
        for (const auto& v : g.key) kv.push_back(json_value(v));
        go["key"] = std::move(kv);
        go["count"] = g.count;
        boost::json::array rows;
        for (const auto& id : g.rows) {
            boost::json::object ro;
            for (std::size_t i = 0; i < id.size() && i < r.identity.size(); ++i) {
                ro[r.identity[i]] = json_value(id[i]);
            }
            rows.push_back(std::move(ro));
        }
        go["rows"] = std::move(rows);
        groups.push_back(std::move(go));
    }
    o["groups"] = std::move(groups);
    return o;
}

}  // namespace uniqguard::app::audit
