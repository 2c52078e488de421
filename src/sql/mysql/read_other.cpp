// TRUNCATE, DROP TABLE and the transaction statements: what the guard must notice besides
// writes (a TRUNCATE empties a key set; a ROLLBACK frees the keys of its transaction).
#include "parse_context.hpp"

namespace uniqguard::sql::mysql {
namespace {

bool read_table_list(const Context& ctx, std::size_t from, std::size_t to,
                     std::vector<QualifiedName>& out) {
    for (const auto& [a, b] : ctx.split_commas(from, to)) {
        std::vector<std::string> parts;
        if (ctx.dotted_name(a, parts) != b || parts.size() > 2) return false;
        QualifiedName q;
        q.name = parts.back();
        if (parts.size() == 2) q.schema = parts[0];
        out.push_back(std::move(q));
    }
    return true;
}

}  // namespace

// TRUNCATE [TABLE] tbl [WAIT n | NOWAIT]
Statement::Body read_truncate(const Context& ctx) {
    std::size_t i = ctx.first() + 1;
    if (ctx.word(i, "table")) ++i;
    std::size_t end = ctx.end();
    if (const std::size_t w = ctx.find_word(i, end, "wait"); w != Context::npos) end = w;
    if (const std::size_t w = ctx.find_word(i, end, "nowait"); w != Context::npos) end = w;
    TruncateStatement t;
    if (!read_table_list(ctx, i, end, t.tables) || t.tables.size() != 1) {
        return OtherStatement{"truncate_stmt", "not TRUNCATE [TABLE] name"};
    }
    return t;
}

// DROP [TEMPORARY] TABLE [IF EXISTS] t, ... [WAIT n | NOWAIT] [RESTRICT | CASCADE]; any other
// DROP is an OtherStatement.
Statement::Body read_drop(const Context& ctx) {
    std::size_t i = ctx.first() + 1;
    if (ctx.word(i, "temporary")) ++i;
    if (!ctx.word(i, "table") && !ctx.word(i, "tables")) return OtherStatement{"drop_stmt"};
    ++i;
    DropTableStatement d;
    if (ctx.word(i, "if") && ctx.word(i + 1, "exists")) {
        d.if_exists = true;
        i += 2;
    }
    std::size_t end = ctx.end();
    if (ctx.word(end - 1, "cascade") || ctx.word(end - 1, "restrict")) {
        d.cascade = ctx.word(end - 1, "cascade");
        --end;
    }
    if (const std::size_t w = ctx.find_word(i, end, "wait"); w != Context::npos) end = w;
    if (const std::size_t w = ctx.find_word(i, end, "nowait"); w != Context::npos) end = w;
    if (i >= end || !read_table_list(ctx, i, end, d.tables)) {
        return OtherStatement{"drop_stmt", "a DROP TABLE whose table list was not read"};
    }
    return d;
}

// BEGIN [WORK], START TRANSACTION [..], COMMIT [WORK] [AND [NO] CHAIN] [[NO] RELEASE],
// ROLLBACK [WORK] [TO [SAVEPOINT] sp] [AND [NO] CHAIN], SAVEPOINT sp, RELEASE SAVEPOINT sp.
Statement::Body read_transaction(const Context& ctx) {
    using Kind = TransactionStatement::Kind;
    const std::size_t first = ctx.first();
    TransactionStatement t;
    std::size_t i = first + 1;
    auto chain = [&](std::size_t k) {
        return ctx.word(k, "and") && ctx.word(k + 1, "chain");  // not AND NO CHAIN
    };
    if (ctx.word(first, "begin")) {
        // BEGIN NOT ATOMIC opens a compound statement, not a transaction.
        if (!ctx.at_end(i) && !ctx.word(i, "work")) return OtherStatement{"begin_stmt"};
        t.kind = Kind::begin;
    } else if (ctx.word(first, "start")) {
        if (!ctx.word(i, "transaction")) return OtherStatement{"start_stmt"};
        t.kind = Kind::start;
        for (std::size_t k = i + 1; k < ctx.end(); ++k) {
            if (ctx.word(k, "only") && ctx.word(k - 1, "read")) {
                t.options.emplace_back("transaction_read_only", "1");
            }
            if (ctx.word(k, "write") && ctx.word(k - 1, "read")) {
                t.options.emplace_back("transaction_read_only", "0");
            }
        }
    } else if (ctx.word(first, "commit")) {
        t.kind = Kind::commit;
        if (ctx.word(i, "work")) ++i;
        t.chain = chain(i);
    } else if (ctx.word(first, "rollback")) {
        if (ctx.word(i, "work")) ++i;
        if (ctx.word(i, "to")) {
            ++i;
            if (ctx.word(i, "savepoint")) ++i;
            if (!ctx.is_name(i))
                return OtherStatement{"rollback_stmt", "ROLLBACK TO without a name"};
            t.kind = Kind::rollback_to;
            t.savepoint = ctx.name(i);
        } else {
            t.kind = Kind::rollback;
            t.chain = chain(i);
        }
    } else if (ctx.word(first, "savepoint")) {
        if (!ctx.is_name(i)) return OtherStatement{"savepoint_stmt", "SAVEPOINT without a name"};
        t.kind = Kind::savepoint;
        t.savepoint = ctx.name(i);
    } else if (ctx.word(first, "release")) {
        if (!ctx.word(i, "savepoint") || !ctx.is_name(i + 1)) return OtherStatement{"release_stmt"};
        t.kind = Kind::release;
        t.savepoint = ctx.name(i + 1);
    } else {
        return OtherStatement{node_name(ctx, first)};
    }
    return t;
}

}  // namespace uniqguard::sql::mysql
