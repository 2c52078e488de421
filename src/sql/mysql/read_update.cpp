// UPDATE and DELETE:
//   UPDATE [LOW_PRIORITY] [IGNORE] tbl [PARTITION (..)] [[AS] alias] [index hints]
//          [, tbl ... | JOIN ...] SET col = value, ... [WHERE cond] [ORDER BY ..] [LIMIT ..]
//   DELETE [LOW_PRIORITY] [QUICK] [IGNORE] FROM tbl [PARTITION (..)] [[AS] alias]
//          [WHERE cond] [ORDER BY ..] [LIMIT ..] [RETURNING ..]
// and the multi-table forms (`has_from` / `has_using`, `table` the first table named).
#include "parse_context.hpp"

namespace uniqguard::sql::mysql {
namespace {

bool is_join_word(const Context& ctx, std::size_t i) {
    for (std::string_view w :
         {"join", "inner", "left", "right", "cross", "natural", "straight_join", "full"}) {
        if (ctx.word(i, w)) return true;
    }
    return false;
}

// The words that end a table reference's optional alias.
bool is_clause_word(const Context& ctx, std::size_t i) {
    for (std::string_view w : {"set", "where", "order", "limit", "using", "returning", "use",
                               "ignore", "force", "partition"}) {
        if (ctx.word(i, w)) return true;
    }
    return is_join_word(ctx, i);
}

// tbl [PARTITION (..)] [[AS] alias] [{USE | IGNORE | FORCE} {INDEX | KEY} [FOR ..] (..)]...
// Returns the index after it; npos when there is no table name.
std::size_t table_reference(const Context& ctx, std::size_t i, QualifiedName& table,
                            std::string& alias, bool* partition = nullptr) {
    std::vector<std::string> parts;
    const std::size_t after = ctx.dotted_name(i, parts);
    if (after == Context::npos || parts.size() > 2) return Context::npos;
    table.name = parts.back();
    if (parts.size() == 2) table.schema = parts[0];
    i = after;
    if (ctx.word(i, "partition")) {
        if (partition) *partition = true;
        i = ctx.skip_group(i + 1);
        if (i == Context::npos) return Context::npos;
    }
    if (ctx.word(i, "as") && ctx.is_name(i + 1)) {
        alias = ctx.name(i + 1);
        i += 2;
    } else if (ctx.is_name(i) && !is_clause_word(ctx, i)) {
        alias = ctx.name(i);
        ++i;
    }
    while (ctx.word(i, "use") || ctx.word(i, "ignore") || ctx.word(i, "force")) {
        if (!ctx.word(i + 1, "index") && !ctx.word(i + 1, "key")) break;
        std::size_t j = i + 2;
        while (!ctx.at_end(j) && !ctx.symbol(j, "(")) ++j;
        j = ctx.skip_group(j);
        if (j == Context::npos) return Context::npos;
        i = j;
    }
    return i;
}

// The first depth-0 ORDER / LIMIT / RETURNING from i, or the end.
std::size_t clause_end(const Context& ctx, std::size_t i) {
    std::size_t end = ctx.end();
    for (std::string_view w : {"order", "limit", "returning"}) {
        const std::size_t k = ctx.find_word(i, end, w);
        if (k != Context::npos) end = k;
    }
    return end;
}

}  // namespace

Statement::Body read_update(const Context& ctx) {
    UpdateStatement up;
    std::size_t i = ctx.first() + 1;
    if (ctx.word(i, "low_priority")) ++i;
    if (ctx.word(i, "ignore")) {
        up.ignore = true;
        ++i;
    }
    i = table_reference(ctx, i, up.table, up.alias, &up.partition);
    if (i == Context::npos) return OtherStatement{"update_stmt", "no table name"};
    if (!ctx.word(i, "set")) {
        // t1, t2 or a JOIN: the assignments may name any of the tables.
        up.has_from = true;
        i = ctx.find_word(i, ctx.end(), "set");
        if (i == Context::npos) return OtherStatement{"update_stmt", "no SET"};
    }
    const std::size_t where = ctx.find_word(i + 1, ctx.end(), "where");
    const std::size_t set_end = where != Context::npos ? where : clause_end(ctx, i + 1);
    std::string why;
    if (!read_assignments(ctx, i + 1, set_end, up.assignments, why)) {
        return OtherStatement{"update_stmt", why};
    }
    if (set_end > i + 1) up.set_list = ctx.range(i + 1, set_end - 1);
    if (where != Context::npos) {
        up.has_where = true;
        const std::size_t end = clause_end(ctx, where + 1);
        if (end > where + 1) up.where = ctx.range(where + 1, end - 1);
    }
    const std::size_t tail = clause_end(ctx, i + 1);
    up.order_or_limit = ctx.word(tail, "order") || ctx.word(tail, "limit");
    return up;
}

Statement::Body read_delete(const Context& ctx) {
    DeleteStatement del;
    std::size_t i = ctx.first() + 1;
    while (ctx.word(i, "low_priority") || ctx.word(i, "quick") || ctx.word(i, "ignore")) ++i;
    if (!ctx.word(i, "from")) {
        // DELETE t1, t2 FROM ...: the tables named first are the ones deleted from.
        del.has_using = true;
        std::vector<std::string> parts;
        const std::size_t after = ctx.dotted_name(i, parts);
        if (after == Context::npos || parts.size() > 2) {
            return OtherStatement{"delete_stmt", "no table name"};
        }
        del.table.name = parts.back();
        if (parts.size() == 2) del.table.schema = parts[0];
    } else {
        i = table_reference(ctx, i + 1, del.table, del.alias);
        if (i == Context::npos) return OtherStatement{"delete_stmt", "no table name"};
        if (ctx.symbol(i, ",") || ctx.word(i, "using") || is_join_word(ctx, i)) {
            del.has_using = true;
        }
    }
    const std::size_t where = ctx.find_word(i, ctx.end(), "where");
    if (where != Context::npos) {
        del.has_where = true;
        const std::size_t end = clause_end(ctx, where + 1);
        if (end > where + 1) del.where = ctx.range(where + 1, end - 1);
    }
    const std::size_t returning = ctx.find_word(i, ctx.end(), "returning");
    if (returning != Context::npos) {
        del.returning = true;
        if (returning + 1 < ctx.end()) del.returning_list = ctx.range(returning + 1, ctx.end() - 1);
    }
    return del;
}

}  // namespace uniqguard::sql::mysql
