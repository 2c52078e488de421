// SET of one session variable, the form that changes how later statements are read
// (`SET sql_mode = 'ANSI_QUOTES'`) or sent (`SET NAMES utf8mb4`):
//   SET [SESSION | LOCAL | @@session. | @@local. | @@] name {= | :=} value
//   SET NAMES charset [COLLATE collation]
// GLOBAL settings (they change other sessions, not this one), user variables, SET TRANSACTION,
// PASSWORD, ROLE and the like are OtherStatements; a SET of several variables at once is one
// with `unsupported` set, since a reader of SetStatement would miss all but one.
// `SET STATEMENT ... FOR <statement>` is handled by the dispatcher: it runs the statement.
// `value` is the new setting as text for a literal or an unquoted word, and empty for an
// expression (SET sql_mode = CONCAT(@@sql_mode, ',ANSI')): the setting is then unknown.
#include "parse_context.hpp"

namespace uniqguard::sql::mysql {
namespace {

// `@@name`, `@@session.name`, `@@local.name` → name; empty for anything else (`@@global.x`,
// a user variable).
std::string session_variable(std::string_view token) {
    if (token.substr(0, 2) != "@@") return {};
    std::string name = lower_ascii(token.substr(2));
    for (std::string_view scope : {"session.", "local."}) {
        if (name.compare(0, scope.size(), scope) == 0) return name.substr(scope.size());
    }
    if (name.find('.') != std::string::npos) return {};
    return name;
}

}  // namespace

Statement::Body read_set(const Context& ctx) {
    const std::size_t first = ctx.first();
    std::size_t i = first + 1;
    SetStatement set;
    if (ctx.word(i, "names")) {
        if (!ctx.is_name(i + 1) && !ctx.kind_is(i + 1, MySqlTokenKind::string)) {
            return OtherStatement{"set_stmt"};
        }
        set.name = "names";
        set.values.push_back(read_value(ctx, i + 1, i + 2));
        set.value =
            ctx.kind_is(i + 1, MySqlTokenKind::string) ? set.values[0].text : ctx.name(i + 1);
        if (ctx.word(i + 1, "default")) set.kind = SetStatement::Kind::set_default;
        return set;
    }
    if (ctx.split_commas(i, ctx.end()).size() > 1) {
        return OtherStatement{"set_stmt", "a SET of several variables"};
    }
    if (ctx.word(i, "session") || ctx.word(i, "local")) ++i;
    if (ctx.kind_is(i, MySqlTokenKind::variable)) {
        set.name = session_variable(ctx.text(i));
    } else if (ctx.is_name(i) && !ctx.word(i, "global") && !ctx.word(i, "transaction") &&
               !ctx.word(i, "password") && !ctx.word(i, "role") && !ctx.word(i, "default")) {
        set.name = lower_ascii(ctx.name(i));
    }
    if (set.name.empty() || !(ctx.symbol(i + 1, "=") || ctx.symbol(i + 1, ":="))) {
        return OtherStatement{"set_stmt"};
    }
    const std::size_t from = i + 2;
    if (from >= ctx.end()) return OtherStatement{"set_stmt", "SET without a value"};
    Value v = read_value(ctx, from, ctx.end());
    if (v.kind == ValueKind::default_) {
        set.kind = SetStatement::Kind::set_default;
    } else if (v.kind == ValueKind::expression && from + 1 == ctx.end() && ctx.is_name(from)) {
        // An unquoted word is the value itself: SET sql_mode = ANSI, SET autocommit = ON.
        set.value = ctx.name(from);
    } else if (v.is_literal()) {
        set.value = v.text;
    }
    set.values.push_back(std::move(v));
    return set;
}

}  // namespace uniqguard::sql::mysql
