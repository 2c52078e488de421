#include "sql/statement.hpp"

#include <algorithm>
#include <iterator>

namespace uniqguard::sql {
namespace {

// PostgreSQL 15's keywords that quote_identifier() quotes (every category but unreserved).
constexpr std::string_view kQuotedKeywords[] = {"all",
                                                "analyse",
                                                "analyze",
                                                "and",
                                                "any",
                                                "array",
                                                "as",
                                                "asc",
                                                "asymmetric",
                                                "authorization",
                                                "between",
                                                "bigint",
                                                "binary",
                                                "bit",
                                                "boolean",
                                                "both",
                                                "case",
                                                "cast",
                                                "char",
                                                "character",
                                                "check",
                                                "coalesce",
                                                "collate",
                                                "collation",
                                                "column",
                                                "concurrently",
                                                "constraint",
                                                "create",
                                                "cross",
                                                "current_catalog",
                                                "current_date",
                                                "current_role",
                                                "current_schema",
                                                "current_time",
                                                "current_timestamp",
                                                "current_user",
                                                "dec",
                                                "decimal",
                                                "default",
                                                "deferrable",
                                                "desc",
                                                "distinct",
                                                "do",
                                                "else",
                                                "end",
                                                "except",
                                                "exists",
                                                "extract",
                                                "false",
                                                "fetch",
                                                "float",
                                                "for",
                                                "foreign",
                                                "freeze",
                                                "from",
                                                "full",
                                                "grant",
                                                "greatest",
                                                "group",
                                                "grouping",
                                                "having",
                                                "ilike",
                                                "in",
                                                "initially",
                                                "inner",
                                                "inout",
                                                "int",
                                                "integer",
                                                "intersect",
                                                "interval",
                                                "into",
                                                "is",
                                                "isnull",
                                                "join",
                                                "lateral",
                                                "leading",
                                                "least",
                                                "left",
                                                "like",
                                                "limit",
                                                "localtime",
                                                "localtimestamp",
                                                "national",
                                                "natural",
                                                "nchar",
                                                "none",
                                                "normalize",
                                                "not",
                                                "notnull",
                                                "null",
                                                "nullif",
                                                "numeric",
                                                "offset",
                                                "on",
                                                "only",
                                                "or",
                                                "order",
                                                "out",
                                                "outer",
                                                "overlaps",
                                                "overlay",
                                                "placing",
                                                "position",
                                                "precision",
                                                "primary",
                                                "real",
                                                "references",
                                                "returning",
                                                "right",
                                                "row",
                                                "select",
                                                "session_user",
                                                "setof",
                                                "similar",
                                                "smallint",
                                                "some",
                                                "substring",
                                                "symmetric",
                                                "table",
                                                "tablesample",
                                                "then",
                                                "time",
                                                "timestamp",
                                                "to",
                                                "trailing",
                                                "treat",
                                                "trim",
                                                "true",
                                                "union",
                                                "unique",
                                                "user",
                                                "using",
                                                "values",
                                                "varchar",
                                                "variadic",
                                                "verbose",
                                                "when",
                                                "where",
                                                "window",
                                                "with",
                                                "xmlattributes",
                                                "xmlconcat",
                                                "xmlelement",
                                                "xmlexists",
                                                "xmlforest",
                                                "xmlnamespaces",
                                                "xmlparse",
                                                "xmlpi",
                                                "xmlroot",
                                                "xmlserialize",
                                                "xmltable"};

// The server's quote_identifier().
std::string quote_identifier(std::string_view id) {
    bool safe = !id.empty() && ((id[0] >= 'a' && id[0] <= 'z') || id[0] == '_');
    for (char c : id) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) safe = false;
    }
    if (safe && std::find(std::begin(kQuotedKeywords), std::end(kQuotedKeywords), id) !=
                    std::end(kQuotedKeywords)) {
        safe = false;
    }
    if (safe) return std::string(id);
    std::string out = "\"";
    for (char c : id) {
        if (c == '"') out.push_back('"');
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

// Variables flagged GUC_LIST_QUOTE in the server's guc.c.
bool is_list_quote_variable(std::string_view name) {
    return name == "search_path" || name == "temp_tablespaces" ||
           name == "session_preload_libraries" || name == "shared_preload_libraries" ||
           name == "local_preload_libraries";
}

}  // namespace

std::string TypeRef::to_string() const {
    std::string out =
        name.schema.empty() || name.schema == "pg_catalog" ? name.name : name.to_string();
    if (!typmods.empty()) {
        out.push_back('(');
        for (std::size_t i = 0; i < typmods.size(); ++i) {
            if (i > 0) out.push_back(',');
            out += typmods[i];
        }
        out.push_back(')');
    }
    for (int i = 0; i < array_dims; ++i) out += "[]";
    return out;
}

std::string_view to_string(ValueKind k) {
    switch (k) {
        case ValueKind::literal_string:
            return "literal_string";
        case ValueKind::literal_number:
            return "literal_number";
        case ValueKind::literal_bool:
            return "literal_bool";
        case ValueKind::null:
            return "null";
        case ValueKind::parameter:
            return "parameter";
        case ValueKind::default_:
            return "default";
        case ValueKind::expression:
            return "expression";
    }
    return "?";
}

std::string_view to_string(StatementKind k) {
    switch (k) {
        case StatementKind::insert:
            return "insert";
        case StatementKind::update:
            return "update";
        case StatementKind::delete_:
            return "delete";
        case StatementKind::truncate:
            return "truncate";
        case StatementKind::alter_table:
            return "alter_table";
        case StatementKind::drop_table:
            return "drop_table";
        case StatementKind::rename:
            return "rename";
        case StatementKind::create_index:
            return "create_index";
        case StatementKind::copy:
            return "copy";
        case StatementKind::merge:
            return "merge";
        case StatementKind::transaction:
            return "transaction";
        case StatementKind::set:
            return "set";
        case StatementKind::other:
            return "other";
    }
    return "?";
}

std::string flatten_set_value(std::string_view name, const std::vector<Value>& values) {
    std::string out;
    const bool quote = is_list_quote_variable(name);
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i > 0) out += ", ";
        const Value& v = values[i];
        if (v.kind == ValueKind::literal_string && quote && v.casts.empty()) {
            out += quote_identifier(v.text);
        } else {
            out += v.text;
        }
    }
    return out;
}

}  // namespace uniqguard::sql
