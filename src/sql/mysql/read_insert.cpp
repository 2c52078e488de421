// INSERT and REPLACE, MariaDB 10.11's and MySQL 8.0's forms:
//   {INSERT [LOW_PRIORITY | DELAYED | HIGH_PRIORITY] [IGNORE] | REPLACE [LOW_PRIORITY | DELAYED]}
//   [INTO] tbl [PARTITION (p, ...)]
//   { [(cols)] {VALUES | VALUE} (row), ... [AS alias [(cols)]]
//   | SET col = value, ...
//   | [(cols)] {SELECT ... | (SELECT ...) | WITH ... | TABLE t} }
//   [ON DUPLICATE KEY UPDATE col = value, ...] [RETURNING ...]
// Anything else comes back as an OtherStatement with `unsupported` set.
#include "parse_context.hpp"

namespace uniqguard::sql::mysql {
namespace {

struct Unsupported {
    std::string why;
};

bool starts_select(const Context& ctx, std::size_t i) {
    return ctx.word(i, "select") || ctx.word(i, "with") || ctx.word(i, "table") ||
           ctx.word(i, "values") || ctx.symbol(i, "(");
}

// After the source: [ON DUPLICATE KEY UPDATE assignments] [RETURNING list], to the end.
bool read_tail(const Context& ctx, std::size_t i, InsertStatement& ins, std::string& why) {
    const std::size_t end = ctx.end();
    const std::size_t returning = ctx.find_word(i, end, "returning");
    const std::size_t stop = returning == Context::npos ? end : returning;
    if (ctx.word(i, "on")) {
        if (!ctx.word(i + 1, "duplicate") || !ctx.word(i + 2, "key") ||
            !ctx.word(i + 3, "update")) {
            why = "ON not followed by DUPLICATE KEY UPDATE";
            return false;
        }
        ins.on_conflict.action = OnConflict::Action::on_duplicate_key_update;
        if (!read_assignments(ctx, i + 4, stop, ins.on_conflict.assignments, why)) return false;
        i = stop;
    }
    if (i != stop) {
        why = "unexpected text after the inserted rows";
        return false;
    }
    if (returning != Context::npos) {
        ins.returning = true;
        if (returning + 1 < end) ins.returning_list = ctx.range(returning + 1, end - 1);
    }
    return true;
}

// VALUES (..), (..) [AS alias [(cols)]]: `i` is just after VALUES. Returns the index after
// the rows, npos (with `why`) when a row is not a parenthesised list.
std::size_t read_rows(const Context& ctx, std::size_t i, InsertStatement& ins, std::string& why) {
    while (true) {
        const std::size_t start = i;
        if (ctx.word(i, "row")) ++i;  // MySQL 8: VALUES ROW(1, 2)
        const std::size_t close = ctx.skip_group(i);
        if (close == Context::npos) {
            why = "a VALUES row that is not a parenthesised list";
            return Context::npos;
        }
        std::vector<Value> row;
        if (close > i + 2) {
            for (const auto& [a, b] : ctx.split_commas(i + 1, close - 1)) {
                row.push_back(read_value(ctx, a, b));
            }
        }
        ins.rows.push_back(std::move(row));
        ins.row_ranges.push_back(ctx.range(start, close - 1));
        i = close;
        if (!ctx.symbol(i, ",")) break;
        ++i;
    }
    // MySQL 8.0.19's row alias, for ON DUPLICATE KEY UPDATE to name the new row.
    if (ctx.word(i, "as") && ctx.is_name(i + 1)) {
        i += 2;
        if (ctx.symbol(i, "(")) i = ctx.skip_group(i);
    }
    return i;
}

}  // namespace

Statement::Body read_insert(const Context& ctx) {
    InsertStatement ins;
    ins.replace = ctx.word(ctx.first(), "replace");
    const std::string node = ins.replace ? "replace_stmt" : "insert_stmt";
    auto unsupported = [&](std::string why) -> Statement::Body {
        return OtherStatement{node, std::move(why)};
    };

    std::size_t i = ctx.first() + 1;
    while (ctx.word(i, "low_priority") || ctx.word(i, "delayed") || ctx.word(i, "high_priority")) {
        ++i;
    }
    if (ctx.word(i, "ignore")) {
        ins.ignore = true;
        ++i;
    }
    if (ctx.word(i, "into")) ++i;

    std::vector<std::string> parts;
    const std::size_t after_name = ctx.dotted_name(i, parts);
    if (after_name == Context::npos || parts.size() > 2) return unsupported("no table name");
    ins.table.name = parts.back();
    if (parts.size() == 2) ins.table.schema = parts[0];
    ins.table_name = ctx.range(i, after_name - 1);
    i = after_name;

    if (ctx.word(i, "partition")) {
        ins.partition = true;
        i = ctx.skip_group(i + 1);
        if (i == Context::npos) return unsupported("PARTITION without a list");
    }
    // A column list, unless the parenthesis opens the source: (SELECT ...).
    if (ctx.symbol(i, "(") && !starts_select(ctx, i + 1)) {
        const std::size_t close = ctx.skip_group(i);
        if (close == Context::npos) return unsupported("unclosed column list");
        if (close > i + 2) {
            for (const auto& [a, b] : ctx.split_commas(i + 1, close - 1)) {
                const std::size_t after = ctx.dotted_name(a, parts);
                if (after != b) return unsupported("a column list item that is not a name");
                if (parts.size() > 1) ins.qualified_columns = true;
                ins.columns.push_back(parts.back());
            }
        }
        i = close;
    }

    std::string why;
    if (ctx.word(i, "values") || ctx.word(i, "value")) {
        i = read_rows(ctx, i + 1, ins, why);
        if (i == Context::npos) return unsupported(why);
    } else if (ctx.word(i, "set")) {
        if (!ins.columns.empty()) return unsupported("a column list before SET");
        const std::size_t end = ctx.end();
        std::size_t stop = ctx.find_word(i + 1, end, "on");
        const std::size_t returning = ctx.find_word(i + 1, end, "returning");
        if (stop == Context::npos || (returning != Context::npos && returning < stop)) {
            stop = returning == Context::npos ? end : returning;
        }
        std::vector<Assignment> assignments;
        if (!read_assignments(ctx, i + 1, stop, assignments, why)) return unsupported(why);
        std::vector<Value> row;
        for (Assignment& a : assignments) {
            ins.columns.push_back(std::move(a.column));
            row.push_back(std::move(a.value));
        }
        ins.rows.push_back(std::move(row));
        if (stop > i + 1) ins.row_ranges.push_back(ctx.range(i + 1, stop - 1));
        i = stop;
    } else if (starts_select(ctx, i)) {
        ins.select_source = true;
        ins.has_with = ctx.word(i, "with");
        // The SELECT runs to ON DUPLICATE KEY UPDATE or RETURNING at depth 0.
        std::size_t on = i;
        while ((on = ctx.find_word(on, ctx.end(), "on")) != Context::npos &&
               !ctx.word(on + 1, "duplicate")) {
            ++on;
        }
        const std::size_t returning = ctx.find_word(i, ctx.end(), "returning");
        i = on != Context::npos ? on : (returning != Context::npos ? returning : ctx.end());
    } else {
        return unsupported(ctx.at_end(i) ? "no VALUES, SET or SELECT"
                                         : "unexpected text where VALUES, SET or SELECT belongs");
    }
    if (!read_tail(ctx, i, ins, why)) return unsupported(why);
    return ins;
}

}  // namespace uniqguard::sql::mysql
