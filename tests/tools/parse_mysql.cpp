// Runs the MySQL parser (sql/mysql_parser.hpp) on the SQL read from stdin and prints what it
// found as one JSON document, for tests/integration/test_mysql_literals.py.
//
//   parse_mysql [--no-backslash-escapes] [--ansi-quotes] [--sql-mode MODES] [--mysql]
//               [--server-version N] < statements.sql
//
// Output: {"error": null | {"message", "offset"}, "statements": [{"kind", "range": [off, len],
// "trimmed": [..], ...}]}. INSERT statements carry "table", "schema", "columns", "replace",
// "ignore", "select_source", "on_duplicate" (assignment count) and "rows": per value "kind",
// "hex" (the bytes of `text`, upper-case hex), "text" for numbers and booleans, "parameter",
// "introducer", "form" (quoted | hex | bit), "note" and "literal" ([offset, length]).
#include <boost/json.hpp>
#include <iostream>
#include <iterator>
#include <string>

#include "sql/mysql_parser.hpp"

namespace json = boost::json;
using namespace uniqguard::sql;

namespace {

std::string hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (char c : bytes) {
        const auto u = static_cast<unsigned char>(c);
        out.push_back(digits[u >> 4]);
        out.push_back(digits[u & 15]);
    }
    return out;
}

json::array range(const SourceRange& r) {
    if (!r.known()) return json::array{nullptr, 0};
    return json::array{r.offset, r.length};
}

std::string_view form_name(LiteralForm f) {
    switch (f) {
        case LiteralForm::hex:
            return "hex";
        case LiteralForm::bit:
            return "bit";
        default:
            return "quoted";
    }
}

json::object value_json(const Value& v) {
    json::object o;
    o["kind"] = to_string(v.kind);
    o["hex"] = hex(v.text);
    if (v.kind == ValueKind::literal_number || v.kind == ValueKind::literal_bool)
        o["text"] = v.text;
    if (v.kind == ValueKind::parameter) o["parameter"] = v.parameter;
    o["introducer"] = v.charset_introducer;
    o["form"] = form_name(v.form);
    if (!v.note.empty()) o["note"] = v.note;
    o["literal"] = range(v.literal);
    o["range"] = range(v.range);
    return o;
}

json::object statement_json(const Statement& st) {
    json::object o;
    o["kind"] = to_string(st.kind());
    o["range"] = range(st.range);
    o["trimmed"] = range(st.trimmed);
    if (const auto* ins = st.get<InsertStatement>()) {
        o["table"] = ins->table.name;
        o["schema"] = ins->table.schema;
        json::array cols;
        for (const auto& c : ins->columns) cols.emplace_back(c);
        o["columns"] = std::move(cols);
        o["replace"] = ins->replace;
        o["ignore"] = ins->ignore;
        o["select_source"] = ins->select_source;
        o["on_duplicate"] = ins->on_conflict.assignments.size();
        json::array rows;
        for (const auto& row : ins->rows) {
            json::array r;
            for (const Value& v : row) r.emplace_back(value_json(v));
            rows.emplace_back(std::move(r));
        }
        o["rows"] = std::move(rows);
    } else if (const auto* other = st.get<OtherStatement>()) {
        o["node"] = other->node;
        o["unsupported"] = other->unsupported;
    }
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    MySqlDialect dialect;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--no-backslash-escapes") {
            dialect.no_backslash_escapes = true;
        } else if (arg == "--ansi-quotes") {
            dialect.ansi_quotes = true;
        } else if (arg == "--mysql") {
            dialect.mariadb = false;
        } else if (arg == "--sql-mode" && i + 1 < argc) {
            apply_sql_mode(dialect, argv[++i]);
        } else if (arg == "--server-version" && i + 1 < argc) {
            dialect.server_version = static_cast<std::uint32_t>(std::stoul(argv[++i]));
        } else {
            std::cerr << "usage: parse_mysql [--no-backslash-escapes] [--ansi-quotes] "
                         "[--sql-mode MODES] [--mysql] [--server-version N] < sql\n";
            return 2;
        }
    }
    const std::string sql((std::istreambuf_iterator<char>(std::cin)),
                          std::istreambuf_iterator<char>());
    const ParseResult r = parse_mysql(sql, dialect);
    json::object out;
    if (r.error) {
        out["error"] = json::object{{"message", r.error->message}, {"offset", r.error->offset}};
    } else {
        out["error"] = nullptr;
    }
    json::array statements;
    for (const Statement& st : r.statements) statements.emplace_back(statement_json(st));
    out["statements"] = std::move(statements);
    std::cout << json::serialize(out) << '\n';
    return 0;
}
