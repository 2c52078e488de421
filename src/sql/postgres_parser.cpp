// The libpg_query entry points: parse to protobuf, unpack with protobuf-c, hand each raw
// statement to its transform (src/sql/postgres/transform_*.cpp).
#include "sql/postgres_parser.hpp"

#include <algorithm>
#include <cstddef>
#include <memory>

#include "postgres/pg_nodes.hpp"

namespace uniqguard::sql {
namespace {

using postgres::Context;
using postgres::Node;

// protobuf-c's unpack makes one allocation per node (and visits every field of the 240-field
// Node message on each): an arena halves its cost, and the tree is freed in one go. The first
// 8 KiB are inline, enough for a one-row INSERT's tree without any malloc.
class UnpackArena {
  public:
    UnpackArena() : next_(inline_), left_(sizeof(inline_)) {}
    UnpackArena(const UnpackArena&) = delete;
    UnpackArena& operator=(const UnpackArena&) = delete;

    ProtobufCAllocator* allocator() { return &allocator_; }

  private:
    static void* allocate(void* self, std::size_t n) {
        return static_cast<UnpackArena*>(self)->take(n);
    }
    static void release(void*, void*) {}

    void* take(std::size_t n) {
        n = (n + 15) & ~std::size_t{15};
        if (n > left_) {
            const std::size_t size = std::max(n, next_chunk_);
            chunks_.push_back(std::make_unique<std::byte[]>(size));  // 16-byte aligned
            next_ = chunks_.back().get();
            left_ = size;
            next_chunk_ *= 2;
        }
        void* p = next_;
        next_ += n;
        left_ -= n;
        return p;
    }

    alignas(16) std::byte inline_[8192];
    std::byte* next_;
    std::size_t left_;
    std::size_t next_chunk_ = 32768;
    std::vector<std::unique_ptr<std::byte[]>> chunks_;
    ProtobufCAllocator allocator_{&UnpackArena::allocate, &UnpackArena::release, this};
};

struct ScanTreeDeleter {
    void operator()(PgQuery__ScanResult* p) const {
        pg_query__scan_result__free_unpacked(p, nullptr);
    }
};

// The server reports a 1-based position in characters (pg_mbstrlen_with_len, UTF-8); ours is a
// byte offset.
std::size_t byte_offset_of(std::string_view sql, int cursor) {
    if (cursor <= 0) return SourceRange::npos;
    std::size_t i = 0;
    for (int c = 1; c < cursor && i < sql.size(); ++c) {
        const auto b = static_cast<unsigned char>(sql[i]);
        const std::size_t n = (b & 0x80) == 0      ? 1
                              : (b & 0xE0) == 0xC0 ? 2
                              : (b & 0xF0) == 0xE0 ? 3
                              : (b & 0xF8) == 0xF0 ? 4
                                                   : 1;
        i = std::min(sql.size(), i + n);
    }
    return i;
}

ParseError make_error(std::string message, std::string_view sql, int cursor) {
    ParseError e;
    e.message = std::move(message);
    e.cursor = cursor;
    e.offset = byte_offset_of(sql, cursor);
    return e;
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// defGetBoolean() for EXPLAIN's ANALYZE option. A value the server would refuse counts as true:
// reading too much into a statement is safe, missing a write is not.
bool option_is_true(const Node* arg) {
    if (arg == nullptr) return true;
    if (arg->node_case == PG_QUERY__NODE__NODE_INTEGER) return arg->integer->ival != 0;
    if (arg->node_case == PG_QUERY__NODE__NODE_BOOLEAN) return arg->boolean->boolval;
    if (arg->node_case == PG_QUERY__NODE__NODE_STRING) {
        std::string v(postgres::str(arg->string->sval));
        std::transform(v.begin(), v.end(), v.begin(), ascii_lower);
        return !(v == "false" || v == "off" || v == "0");
    }
    return true;
}

}  // namespace

namespace postgres {

Statement::Body transform_statement(const Node* node, const Context& ctx, bool& explain_analyze) {
    if (node == nullptr) return OtherStatement{"empty"};
    switch (node->node_case) {
        case PG_QUERY__NODE__NODE_INSERT_STMT:
            return transform_insert(*node->insert_stmt, ctx);
        case PG_QUERY__NODE__NODE_UPDATE_STMT:
            return transform_update(*node->update_stmt, ctx);
        case PG_QUERY__NODE__NODE_DELETE_STMT:
            return transform_delete(*node->delete_stmt, ctx);
        case PG_QUERY__NODE__NODE_TRUNCATE_STMT:
            return transform_truncate(*node->truncate_stmt);
        case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
            return transform_alter_table(*node->alter_table_stmt);
        case PG_QUERY__NODE__NODE_ALTER_OBJECT_SCHEMA_STMT:
            return transform_alter_object_schema(*node->alter_object_schema_stmt);
        case PG_QUERY__NODE__NODE_DROP_STMT:
            return transform_drop(*node->drop_stmt);
        case PG_QUERY__NODE__NODE_RENAME_STMT:
            return transform_rename(*node->rename_stmt);
        case PG_QUERY__NODE__NODE_INDEX_STMT:
            return transform_create_index(*node->index_stmt);
        case PG_QUERY__NODE__NODE_COPY_STMT:
            return transform_copy(*node->copy_stmt);
        case PG_QUERY__NODE__NODE_MERGE_STMT:
            return transform_merge(*node->merge_stmt);
        case PG_QUERY__NODE__NODE_TRANSACTION_STMT:
            return transform_transaction(*node->transaction_stmt);
        case PG_QUERY__NODE__NODE_VARIABLE_SET_STMT:
            return transform_set(*node->variable_set_stmt, ctx);
        case PG_QUERY__NODE__NODE_EXPLAIN_STMT: {
            const PgQuery__ExplainStmt* e = node->explain_stmt;
            bool analyze = false;
            for (std::size_t i = 0; i < e->n_options; ++i) {
                const Node* o = e->options[i];
                if (o != nullptr && o->node_case == PG_QUERY__NODE__NODE_DEF_ELEM &&
                    str(o->def_elem->defname) == "analyze") {
                    analyze = option_is_true(o->def_elem->arg);
                }
            }
            if (!analyze || e->query == nullptr) return OtherStatement{"explain_stmt"};
            explain_analyze = true;
            return transform_statement(e->query, ctx, explain_analyze);
        }
        default:
            return OtherStatement{node_name(node)};
    }
}

}  // namespace postgres

ParseResult parse_postgres(std::string_view sql) {
    ParseResult out;
    if (const std::size_t zero = sql.find('\0'); zero != std::string_view::npos) {
        ParseError e;
        e.message = "statement text contains a zero byte";
        e.offset = zero;
        out.error = std::move(e);
        return out;
    }
    const std::string text(sql);  // libpg_query wants a NUL-terminated string
    PgQueryProtobufParseResult raw = pg_query_parse_protobuf(text.c_str());
    const auto free_raw = [&raw] { pg_query_free_protobuf_parse_result(raw); };
    if (raw.error != nullptr) {
        out.error = make_error(raw.error->message != nullptr ? raw.error->message : "parse error",
                               sql, raw.error->cursorpos);
        free_raw();
        return out;
    }
    UnpackArena arena;  // owns the unpacked tree
    const PgQuery__ParseResult* tree =
        pg_query__parse_result__unpack(arena.allocator(), raw.parse_tree.len,
                                       reinterpret_cast<const std::uint8_t*>(raw.parse_tree.data));
    free_raw();
    if (tree == nullptr) {
        out.error = make_error("could not unpack libpg_query's parse tree", sql, 0);
        return out;
    }

    std::vector<Token> tokens;
    lex_postgres(sql, tokens);
    out.statements.reserve(tree->n_stmts);
    for (std::size_t i = 0; i < tree->n_stmts; ++i) {
        const PgQuery__RawStmt* rs = tree->stmts[i];
        if (rs == nullptr) continue;
        const auto loc = std::min<std::size_t>(
            static_cast<std::size_t>(std::max(0, rs->stmt_location)), sql.size());
        // stmt_len 0 means "to the end of the string".
        const std::size_t len =
            rs->stmt_len > 0
                ? std::min<std::size_t>(static_cast<std::size_t>(rs->stmt_len), sql.size() - loc)
                : sql.size() - loc;
        const auto by_offset = [](const Token& t, std::size_t o) { return t.offset < o; };
        const auto first = std::lower_bound(tokens.begin(), tokens.end(), loc, by_offset);
        const auto last = std::lower_bound(first, tokens.end(), loc + len, by_offset);
        const Context ctx(sql, std::span<const Token>(first, last));

        Statement s;
        s.range = {loc, len};
        s.trimmed = ctx.size() > 0 ? ctx.range(0, ctx.size() - 1) : SourceRange{loc, 0};
        s.body = postgres::transform_statement(rs->stmt, ctx, s.explain_analyze);
        out.statements.push_back(std::move(s));
    }
    return out;
}

std::optional<std::vector<ScanToken>> scan_postgres(std::string_view sql) {
    if (sql.find('\0') != std::string_view::npos) return std::nullopt;
    const std::string text(sql);
    PgQueryScanResult raw = pg_query_scan(text.c_str());
    if (raw.error != nullptr) {
        pg_query_free_scan_result(raw);
        return std::nullopt;
    }
    std::unique_ptr<PgQuery__ScanResult, ScanTreeDeleter> scan(pg_query__scan_result__unpack(
        nullptr, raw.pbuf.len, reinterpret_cast<const std::uint8_t*>(raw.pbuf.data)));
    pg_query_free_scan_result(raw);
    if (!scan) return std::nullopt;

    std::vector<ScanToken> out;
    out.reserve(scan->n_tokens);
    for (std::size_t i = 0; i < scan->n_tokens; ++i) {
        const PgQuery__ScanToken* t = scan->tokens[i];
        ScanToken st;
        st.offset = static_cast<std::size_t>(t->start);
        st.length = static_cast<std::size_t>(t->end - t->start);
        switch (t->token) {
            case PG_QUERY__TOKEN__SQL_COMMENT:
            case PG_QUERY__TOKEN__C_COMMENT:
                st.cls = ScanClass::comment;
                break;
            case PG_QUERY__TOKEN__SCONST:
            case PG_QUERY__TOKEN__USCONST:
                st.cls = ScanClass::string;
                break;
            case PG_QUERY__TOKEN__BCONST:
            case PG_QUERY__TOKEN__XCONST:
                st.cls = ScanClass::bit_string;
                break;
            case PG_QUERY__TOKEN__ICONST:
                st.cls = ScanClass::integer;
                break;
            case PG_QUERY__TOKEN__FCONST:
                st.cls = ScanClass::numeric;
                break;
            case PG_QUERY__TOKEN__PARAM:
                st.cls = ScanClass::parameter;
                break;
            case PG_QUERY__TOKEN__IDENT:
            case PG_QUERY__TOKEN__UIDENT:
                st.cls = ScanClass::identifier;
                break;
            case PG_QUERY__TOKEN__Op:
            case PG_QUERY__TOKEN__LESS_EQUALS:
            case PG_QUERY__TOKEN__GREATER_EQUALS:
            case PG_QUERY__TOKEN__NOT_EQUALS:
            case PG_QUERY__TOKEN__EQUALS_GREATER:
                st.cls = ScanClass::operator_;
                break;
            default:
                if (t->keyword_kind != PG_QUERY__KEYWORD_KIND__NO_KEYWORD) {
                    st.cls = ScanClass::keyword;
                } else if (st.length == 1 && std::string_view("+-*/%^<>=").find(sql[st.offset]) !=
                                                 std::string_view::npos) {
                    st.cls = ScanClass::operator_;
                } else {
                    st.cls = ScanClass::punctuation;
                }
                break;
        }
        out.push_back(st);
    }
    return out;
}

}  // namespace uniqguard::sql
