// Pieces shared by the per-statement transforms: names, types, values, SET lists, and the token
// walks that find where a clause ends.
#include <algorithm>
#include <string>

#include "pg_nodes.hpp"

namespace uniqguard::sql::postgres {

// ---- Context ----------------------------------------------------------------------------

std::size_t Context::token_at(int location) const {
    if (location < 0) return npos;
    const auto loc = static_cast<std::uint32_t>(location);
    const auto it = std::lower_bound(tokens_.begin(), tokens_.end(), loc,
                                     [](const Token& t, std::uint32_t o) { return t.offset < o; });
    if (it == tokens_.end() || it->offset != loc) return npos;
    return static_cast<std::size_t>(it - tokens_.begin());
}

bool Context::word(std::size_t i, std::string_view lower_word) const {
    return i < tokens_.size() && is_word(sql_, tokens_[i], lower_word);
}

bool Context::symbol(std::size_t i, std::string_view text) const {
    return i < tokens_.size() && is_symbol(sql_, tokens_[i], text);
}

bool Context::kind_is(std::size_t i, TokenKind k) const {
    return i < tokens_.size() && tokens_[i].kind == k;
}

SourceRange Context::range(std::size_t first, std::size_t last) const {
    if (first >= tokens_.size() || last >= tokens_.size() || last < first) return {};
    return {tokens_[first].offset, tokens_[last].end() - tokens_[first].offset};
}

std::size_t Context::skip_group(std::size_t i) const {
    int depth = 0;
    for (; i < tokens_.size(); ++i) {
        if (symbol(i, "(") || symbol(i, "[")) {
            ++depth;
        } else if (symbol(i, ")") || symbol(i, "]")) {
            if (--depth == 0) return i + 1;
            if (depth < 0) return npos;
        }
    }
    return npos;
}

std::size_t Context::find_word(std::size_t from, std::string_view lower_word) const {
    int depth = 0;
    for (std::size_t i = from; i < tokens_.size(); ++i) {
        if (symbol(i, "(") || symbol(i, "[")) {
            ++depth;
        } else if (symbol(i, ")") || symbol(i, "]")) {
            if (--depth < 0) return npos;
        } else if (depth == 0 && word(i, lower_word)) {
            return i;
        }
    }
    return npos;
}

std::size_t Context::expression_end(std::size_t from, bool clause_words) const {
    int depth = 0;
    std::size_t i = from;
    for (; i < tokens_.size(); ++i) {
        if (symbol(i, "(") || symbol(i, "[")) {
            ++depth;
            continue;
        }
        if (symbol(i, ")") || symbol(i, "]")) {
            if (--depth < 0) return i;
            continue;
        }
        if (depth > 0) continue;
        if (symbol(i, ",") || symbol(i, ";")) return i;
        if (clause_words && (word(i, "where") || word(i, "returning") ||
                             (word(i, "from") && !(i > from && word(i - 1, "distinct"))))) {
            return i;
        }
    }
    return i;
}

std::vector<SourceRange> Context::split_list(std::size_t i, std::size_t& next) const {
    next = npos;
    std::vector<SourceRange> items;
    if (!symbol(i, "(")) return {};
    if (symbol(i + 1, ")")) {
        next = i + 2;
        return items;
    }
    std::size_t j = i + 1;
    while (true) {
        const std::size_t e = expression_end(j, false);
        if (e == j || e >= tokens_.size()) return {};
        items.push_back(range(j, e - 1));
        if (symbol(e, ",")) {
            j = e + 1;
            continue;
        }
        if (symbol(e, ")")) {
            next = e + 1;
            return items;
        }
        return {};
    }
}

// ---- names and types --------------------------------------------------------------------

QualifiedName qualified_name(const PgQuery__RangeVar* rv) {
    if (rv == nullptr) return {};
    return {std::string(str(rv->schemaname)), std::string(str(rv->relname))};
}

std::string alias_of(const PgQuery__RangeVar* rv) {
    if (rv == nullptr || rv->alias == nullptr) return {};
    return std::string(str(rv->alias->aliasname));
}

QualifiedName qualified_name(Node* const* items, std::size_t n) {
    std::vector<std::string_view> parts;
    for (std::size_t i = 0; i < n; ++i) {
        if (items[i] != nullptr && items[i]->node_case == PG_QUERY__NODE__NODE_STRING) {
            parts.push_back(str(items[i]->string->sval));
        }
    }
    QualifiedName q;
    if (!parts.empty()) q.name = std::string(parts.back());
    if (parts.size() >= 2) q.schema = std::string(parts[parts.size() - 2]);
    return q;
}

std::string node_text(const Node* n) {
    if (n == nullptr) return {};
    switch (n->node_case) {
        case PG_QUERY__NODE__NODE_STRING:
            return std::string(str(n->string->sval));
        case PG_QUERY__NODE__NODE_INTEGER:
            return std::to_string(n->integer->ival);
        case PG_QUERY__NODE__NODE_FLOAT:
            return std::string(str(n->float_->fval));
        case PG_QUERY__NODE__NODE_BOOLEAN:
            return n->boolean->boolval ? "true" : "false";
        case PG_QUERY__NODE__NODE_BIT_STRING:
            return std::string(str(n->bit_string->bsval));
        case PG_QUERY__NODE__NODE_A_STAR:
            return "*";
        case PG_QUERY__NODE__NODE_A_CONST: {
            const PgQuery__AConst* c = n->a_const;
            if (c->isnull) return "NULL";
            switch (c->val_case) {
                case PG_QUERY__A__CONST__VAL_IVAL:
                    return std::to_string(c->ival->ival);
                case PG_QUERY__A__CONST__VAL_FVAL:
                    return std::string(str(c->fval->fval));
                case PG_QUERY__A__CONST__VAL_BOOLVAL:
                    return c->boolval->boolval ? "true" : "false";
                case PG_QUERY__A__CONST__VAL_SVAL:
                    return std::string(str(c->sval->sval));
                case PG_QUERY__A__CONST__VAL_BSVAL:
                    return std::string(str(c->bsval->bsval));
                default:
                    return {};
            }
        }
        case PG_QUERY__NODE__NODE_LIST: {
            std::string out;
            for (std::size_t i = 0; i < n->list->n_items; ++i) {
                if (i > 0) out.push_back(',');
                out += node_text(n->list->items[i]);
            }
            return out;
        }
        case PG_QUERY__NODE__NODE_COLUMN_REF: {
            std::string out;
            for (std::size_t i = 0; i < n->column_ref->n_fields; ++i) {
                if (i > 0) out.push_back('.');
                out += node_text(n->column_ref->fields[i]);
            }
            return out;
        }
        case PG_QUERY__NODE__NODE_TYPE_NAME:
            return type_ref(n->type_name).to_string();
        default:
            return "<" + node_name(n) + ">";
    }
}

std::string node_name(const Node* n) {
    if (n == nullptr) return "null";
    const ProtobufCFieldDescriptor* f = protobuf_c_message_descriptor_get_field(
        &pg_query__node__descriptor, static_cast<unsigned>(n->node_case));
    return f == nullptr ? "unknown" : std::string(f->name);
}

TypeRef type_ref(const PgQuery__TypeName* tn) {
    TypeRef t;
    if (tn == nullptr) return t;
    t.name = qualified_name(tn->names, tn->n_names);
    for (std::size_t i = 0; i < tn->n_typmods; ++i) t.typmods.push_back(node_text(tn->typmods[i]));
    t.array_dims = static_cast<int>(tn->n_array_bounds);
    return t;
}

// ---- values -----------------------------------------------------------------------------

namespace {

std::string_view describe(const Node* n) {
    switch (n->node_case) {
        case PG_QUERY__NODE__NODE_FUNC_CALL:
            return "function call";
        case PG_QUERY__NODE__NODE_COLUMN_REF:
            return "column reference";
        case PG_QUERY__NODE__NODE_A_EXPR:
            return "operator expression";
        case PG_QUERY__NODE__NODE_SUB_LINK:
            return "subquery";
        case PG_QUERY__NODE__NODE_ROW_EXPR:
            return "row constructor";
        case PG_QUERY__NODE__NODE_A_ARRAY_EXPR:
            return "array constructor";
        case PG_QUERY__NODE__NODE_CASE_EXPR:
            return "CASE expression";
        case PG_QUERY__NODE__NODE_COALESCE_EXPR:
            return "COALESCE";
        case PG_QUERY__NODE__NODE_MIN_MAX_EXPR:
            return "GREATEST or LEAST";
        case PG_QUERY__NODE__NODE_SQLVALUE_FUNCTION:
            return "SQL value function";
        case PG_QUERY__NODE__NODE_BOOL_EXPR:
            return "boolean expression";
        case PG_QUERY__NODE__NODE_NULL_TEST:
            return "IS NULL test";
        case PG_QUERY__NODE__NODE_BOOLEAN_TEST:
            return "boolean test";
        case PG_QUERY__NODE__NODE_COLLATE_CLAUSE:
            return "COLLATE clause";
        case PG_QUERY__NODE__NODE_A_INDIRECTION:
            return "subscript or field selection";
        case PG_QUERY__NODE__NODE_XML_EXPR:
        case PG_QUERY__NODE__NODE_XML_SERIALIZE:
            return "XML expression";
        case PG_QUERY__NODE__NODE_GROUPING_FUNC:
            return "GROUPING";
        default:
            return "unsupported expression";
    }
}

// The token(s) of a number constant at `location`: any minus signs the parser folded into it,
// then the number.
SourceRange number_range(const Context& ctx, int location) {
    const std::size_t i = ctx.token_at(location);
    if (i == Context::npos) return {};
    std::size_t j = i;
    while (ctx.symbol(j, "-")) ++j;
    if (!ctx.kind_is(j, TokenKind::integer) && !ctx.kind_is(j, TokenKind::numeric)) return {};
    return ctx.range(i, j);
}

SourceRange token_range(const Context& ctx, int location) {
    const std::size_t i = ctx.token_at(location);
    return i == Context::npos ? SourceRange{} : ctx.range(i, i);
}

}  // namespace

Value transform_value(const Node* node, const Context& ctx, SourceRange whole) {
    std::vector<TypeRef> casts;
    const Node* n = node;
    while (n != nullptr && n->node_case == PG_QUERY__NODE__NODE_TYPE_CAST) {
        casts.push_back(type_ref(n->type_cast->type_name));
        n = n->type_cast->arg;
    }
    std::reverse(casts.begin(), casts.end());
    if (n == nullptr) return Value::expression_of("missing value", whole);

    Value v;
    v.range = whole;
    v.casts = std::move(casts);
    switch (n->node_case) {
        case PG_QUERY__NODE__NODE_A_CONST: {
            const PgQuery__AConst* c = n->a_const;
            if (c->isnull) {
                v.kind = ValueKind::null;
                v.literal = token_range(ctx, c->location);
                return v;
            }
            switch (c->val_case) {
                case PG_QUERY__A__CONST__VAL_IVAL:
                    v.kind = ValueKind::literal_number;
                    v.text = std::to_string(c->ival->ival);
                    v.literal = number_range(ctx, c->location);
                    return v;
                case PG_QUERY__A__CONST__VAL_FVAL:
                    v.kind = ValueKind::literal_number;
                    v.text = str(c->fval->fval);
                    v.literal = number_range(ctx, c->location);
                    return v;
                case PG_QUERY__A__CONST__VAL_BOOLVAL:
                    v.kind = ValueKind::literal_bool;
                    v.text = c->boolval->boolval ? "true" : "false";
                    v.literal = token_range(ctx, c->location);
                    return v;
                case PG_QUERY__A__CONST__VAL_SVAL:
                    v.kind = ValueKind::literal_string;
                    v.text = str(c->sval->sval);
                    v.literal = token_range(ctx, c->location);
                    return v;
                case PG_QUERY__A__CONST__VAL_BSVAL: {
                    Value e = Value::expression_of("bit string literal", whole);
                    e.casts = std::move(v.casts);
                    return e;
                }
                default:
                    return Value::expression_of("constant of unknown kind", whole);
            }
        }
        case PG_QUERY__NODE__NODE_PARAM_REF:
            v.kind = ValueKind::parameter;
            v.parameter = n->param_ref->number;
            v.literal = token_range(ctx, n->param_ref->location);
            return v;
        case PG_QUERY__NODE__NODE_SET_TO_DEFAULT:
            v.kind = ValueKind::default_;
            v.literal = token_range(ctx, n->set_to_default->location);
            return v;
        default: {
            Value e = Value::expression_of(describe(n), whole);
            e.casts = std::move(v.casts);
            return e;
        }
    }
}

namespace {

// `col [indirection] = value`: the range of the value.
SourceRange set_value_range(const Context& ctx, int location) {
    std::size_t i = ctx.token_at(location);
    if (i == Context::npos) return {};
    ++i;
    while (i < ctx.size() && !ctx.symbol(i, "=")) {
        if (ctx.symbol(i, "[")) {
            i = ctx.skip_group(i);
            if (i == Context::npos) return {};
        } else if (ctx.symbol(i, ".") || ctx.kind_is(i, TokenKind::identifier) ||
                   ctx.kind_is(i, TokenKind::quoted_identifier)) {
            ++i;
        } else {
            return {};
        }
    }
    const std::size_t start = i + 1;
    const std::size_t end = ctx.expression_end(start, true);
    if (end <= start) return {};
    return ctx.range(start, end - 1);
}

// The source of `(a, b) = source`: the ranges of its items when it is a row, and of the whole.
struct MultiSource {
    SourceRange whole;
    std::vector<SourceRange> items;
};

MultiSource multi_source(const Context& ctx, const Node* source) {
    MultiSource out;
    int location = -1;
    if (source->node_case == PG_QUERY__NODE__NODE_ROW_EXPR) location = source->row_expr->location;
    if (source->node_case == PG_QUERY__NODE__NODE_SUB_LINK) location = source->sub_link->location;
    std::size_t i = ctx.token_at(location);
    if (i == Context::npos) return out;
    const std::size_t first = i;
    if (ctx.word(i, "row")) ++i;
    if (source->node_case == PG_QUERY__NODE__NODE_ROW_EXPR) {
        std::size_t next = Context::npos;
        out.items = ctx.split_list(i, next);
        if (next != Context::npos) out.whole = ctx.range(first, next - 1);
    } else {
        const std::size_t next = ctx.skip_group(i);
        if (next != Context::npos) out.whole = ctx.range(first, next - 1);
    }
    return out;
}

}  // namespace

std::vector<Assignment> transform_assignments(Node* const* targets, std::size_t n,
                                              const Context& ctx) {
    std::vector<Assignment> out;
    out.reserve(n);
    MultiSource multi;
    for (std::size_t k = 0; k < n; ++k) {
        const Node* t = targets[k];
        if (t == nullptr || t->node_case != PG_QUERY__NODE__NODE_RES_TARGET) continue;
        const PgQuery__ResTarget* rt = t->res_target;
        Assignment a;
        a.column = str(rt->name);
        a.indirection = rt->n_indirection > 0;
        a.target = token_range(ctx, rt->location);
        const Node* val = rt->val;
        if (val != nullptr && val->node_case == PG_QUERY__NODE__NODE_MULTI_ASSIGN_REF) {
            const PgQuery__MultiAssignRef* m = val->multi_assign_ref;
            const Node* src = m->source;
            if (m->colno == 1 && src != nullptr) multi = multi_source(ctx, src);
            const auto col = static_cast<std::size_t>(m->colno - 1);
            if (src != nullptr && src->node_case == PG_QUERY__NODE__NODE_ROW_EXPR &&
                src->row_expr->n_args == static_cast<std::size_t>(m->ncolumns) && m->colno >= 1 &&
                col < src->row_expr->n_args) {
                const SourceRange item =
                    col < multi.items.size() ? multi.items[col] : SourceRange{};
                a.value = transform_value(src->row_expr->args[col], ctx, item);
            } else {
                Value e;
                e.kind = ValueKind::expression;
                e.volatile_or_unknown = true;
                e.note = src != nullptr && src->node_case == PG_QUERY__NODE__NODE_SUB_LINK
                             ? "multiple-column subquery"
                             : "multiple-column source that is not a row";
                e.range = multi.whole;
                e.literal = multi.whole;
                a.value = std::move(e);
            }
        } else {
            a.value = transform_value(val, ctx, set_value_range(ctx, rt->location));
        }
        out.push_back(std::move(a));
    }
    return out;
}

SourceRange returning_range(const Context& ctx, std::size_t from) {
    const std::size_t r = ctx.find_word(from, "returning");
    if (r == Context::npos || r + 1 >= ctx.size()) return {};
    return ctx.range(r + 1, ctx.size() - 1);
}

SourceRange where_range(const Context& ctx, std::size_t from) {
    const std::size_t w = ctx.find_word(from, "where");
    if (w == Context::npos || w + 1 >= ctx.size()) return {};
    std::size_t end = ctx.find_word(w + 1, "returning");
    if (end == Context::npos) end = ctx.size();
    if (end <= w + 1) return {};
    return ctx.range(w + 1, end - 1);
}

std::vector<std::string> column_names(Node* const* items, std::size_t n, bool* indirection) {
    std::vector<std::string> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        const Node* c = items[i];
        if (c == nullptr) continue;
        if (c->node_case == PG_QUERY__NODE__NODE_RES_TARGET) {
            out.emplace_back(str(c->res_target->name));
            if (c->res_target->n_indirection > 0 && indirection != nullptr) *indirection = true;
        } else if (c->node_case == PG_QUERY__NODE__NODE_STRING) {
            out.emplace_back(str(c->string->sval));  // COPY's attlist
        }
    }
    return out;
}

std::size_t relation_token(const Context& ctx, const PgQuery__RangeVar* rv) {
    if (rv == nullptr) return 0;
    const std::size_t i = ctx.token_at(rv->location);
    return i == Context::npos ? 0 : i;
}

}  // namespace uniqguard::sql::postgres
