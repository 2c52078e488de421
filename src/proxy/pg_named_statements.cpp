#include "proxy/pg_named_statements.hpp"

#include "protocol/postgres/frontend_messages.hpp"
#include "protocol/postgres/message_codes.hpp"
#include "util/ascii_search.hpp"

namespace uniqguard::proxy {

namespace pg = protocol::postgres;

bool mentions_deallocation(std::string_view sql) {
    return util::contains_ignoring_case(sql, "deallocate") ||
           util::contains_ignoring_case(sql, "discard");
}

void NamedStatementTexts::on_parse(std::string_view name, std::string_view sql,
                                   std::vector<std::uint32_t> parameter_types) {
    if (name.empty()) return;
    const std::string key(name);
    if (auto it = texts_.find(key); it != texts_.end()) {
        if (!it->second.maybe_gone) return;
        erase(key);
    }
    if (bytes_ + key.size() + sql.size() > max_bytes) {
        overflowed_ = true;
        return;
    }
    bytes_ += key.size() + sql.size();
    texts_.emplace(key, Text{std::string(sql), std::move(parameter_types)});
}

void NamedStatementTexts::put_back(const std::string& name, Text text) {
    if (texts_.contains(name)) return;
    bytes_ += name.size() + text.sql.size();
    texts_.emplace(name, std::move(text));
}

void NamedStatementTexts::on_client_message(char type, util::Bytes body) {
    switch (static_cast<pg::FrontendCode>(type)) {
        case pg::FrontendCode::parse:
            if (auto p = pg::decode_parse(body); p && !p->statement.empty())
                on_parse(p->statement, p->sql, std::move(p->parameter_types));
            break;
        case pg::FrontendCode::close:
            if (auto c = pg::decode_close(body); c && c->kind == 'S') on_close_statement(c->name);
            break;
        case pg::FrontendCode::query:
            if (!texts_.empty())
                if (auto q = pg::decode_query(body); q && mentions_deallocation(q->sql))
                    on_deallocation_seen();
            break;
        default:
            break;
    }
}

void NamedStatementTexts::erase(const std::string& name) {
    auto it = texts_.find(name);
    if (it == texts_.end()) return;
    bytes_ -= it->first.size() + it->second.sql.size();
    texts_.erase(it);
}

}  // namespace uniqguard::proxy
