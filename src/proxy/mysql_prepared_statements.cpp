#include "proxy/mysql_prepared_statements.hpp"

#include <algorithm>

#include "protocol/mysql/wire.hpp"

namespace uniqguard::proxy {

void MySqlPreparedStatements::on_prepare(std::string text,
                                         std::shared_ptr<const sql::ParseResult> parsed,
                                         std::string database, sql::MySqlDialect dialect,
                                         std::uint64_t settings_version) {
    PreparedStatement s;
    s.text = std::move(text);
    s.parsed = std::move(parsed);
    s.database = std::move(database);
    s.dialect = dialect;
    s.settings_version = settings_version;
    pending_.push_back(std::move(s));
}

void MySqlPreparedStatements::on_prepare_unfollowed() {
    PreparedStatement s;
    s.followed = false;
    pending_.push_back(std::move(s));
}

bool MySqlPreparedStatements::has_room(std::size_t text_bytes) const {
    std::size_t count = statements_.size(), bytes = text_bytes_ + text_bytes;
    for (const auto& p : pending_)
        if (p.followed) {
            ++count;
            bytes += p.text.size();
        }
    return count < max_statements_ && bytes <= max_text_bytes_;
}

std::optional<std::uint32_t> MySqlPreparedStatements::last_prepared(bool& unanswered) const {
    unanswered = !pending_.empty() && pending_.back().followed;
    if (!pending_.empty()) return std::nullopt;
    return last_id_;
}

bool MySqlPreparedStatements::followed_unanswered() const {
    return std::any_of(pending_.begin(), pending_.end(),
                       [](const PreparedStatement& s) { return s.followed; });
}

PreparedStatement* MySqlPreparedStatements::find_mutable(std::uint32_t statement) {
    auto it = statements_.find(statement);
    return it == statements_.end() ? nullptr : &it->second;
}

void MySqlPreparedStatements::on_prepare_answer(
    std::optional<std::pair<std::uint32_t, std::uint16_t>> ok) {
    if (pending_.empty()) return;
    PreparedStatement s = std::move(pending_.front());
    pending_.pop_front();
    // After a failed prepare the proxy does not take -1 for the statement before it.
    last_id_ = ok ? std::optional<std::uint32_t>(ok->first) : std::nullopt;
    last_failed_ = !ok;
    if (!ok || !s.followed) {
        // A statement id the server reuses is another statement now.
        if (ok) on_close(ok->first);
        return;
    }
    // Over the bounds the statement is not kept: its executes are then statements the proxy
    // cannot read, which the guard handles as such (never as harmless).
    if (statements_.size() >= max_statements_ || text_bytes_ + s.text.size() > max_text_bytes_)
        return;
    s.param_count = ok->second;
    s.long_data.assign(ok->second, false);
    text_bytes_ += s.text.size();
    if (auto old = statements_.find(ok->first); old != statements_.end()) {
        text_bytes_ -= old->second.text.size();
        drop_long_data(old->second);
    }
    statements_[ok->first] = std::move(s);
}

void MySqlPreparedStatements::on_send_long_data(std::uint32_t statement, std::uint16_t param,
                                                util::Bytes data) {
    auto it = statements_.find(statement);
    if (it == statements_.end() || param >= it->second.long_data.size()) return;
    auto& s = it->second;
    const bool first = !s.long_data[param];
    s.long_data[param] = true;
    if (first) {
        if (data.size() > max_long_value_bytes ||
            long_bytes_ + long_entry_bytes + data.size() > max_long_bytes)
            return;  // not kept
        s.long_values.emplace_back(param, std::string(util::as_chars(data)));
        long_bytes_ += long_entry_bytes + data.size();
        return;
    }
    auto kept = std::find_if(s.long_values.begin(), s.long_values.end(),
                             [&](const auto& v) { return v.first == param; });
    if (kept == s.long_values.end()) return;  // already past the bounds
    if (kept->second.size() + data.size() > max_long_value_bytes ||
        long_bytes_ + data.size() > max_long_bytes) {
        long_bytes_ -= long_entry_bytes + kept->second.size();
        s.long_values.erase(kept);
        return;
    }
    kept->second.append(util::as_chars(data));
    long_bytes_ += data.size();
}

MySqlPreparedStatements::LongValues MySqlPreparedStatements::take_long_data(PreparedStatement& s) {
    for (const auto& v : s.long_values) long_bytes_ -= long_entry_bytes + v.second.size();
    LongValues taken = std::move(s.long_values);
    s.long_values.clear();  // (a moved-from container is valid but unspecified)
    s.long_data.assign(s.param_count, false);
    return taken;
}

std::optional<protocol::mysql::StmtExecute> MySqlPreparedStatements::on_execute(
    util::Bytes payload, const PreparedStatement** statement, std::string& error,
    LongValues* long_values) {
    if (payload.size() < 5) {
        error = "COM_STMT_EXECUTE is truncated";
        return std::nullopt;
    }
    const std::uint32_t id = protocol::mysql::read_u32_le(payload.data() + 1);
    auto it = statements_.find(id);
    if (it == statements_.end()) {
        error = "COM_STMT_EXECUTE of a statement the proxy does not know";
        return std::nullopt;
    }
    PreparedStatement& s = it->second;
    auto decoded = protocol::mysql::decode_stmt_execute(payload, s.param_count, s.bound_types,
                                                        s.long_data, error);
    // The long data is spent by the execute, whatever its outcome (the server's behaviour).
    auto spent = take_long_data(s);
    if (long_values) *long_values = std::move(spent);
    if (!decoded) return std::nullopt;
    // The values point into `long_values`, which the caller leaves as it is while it uses them.
    if (long_values)
        for (const auto& [param, bytes] : *long_values)
            if (param < decoded->params.size() && decoded->params[param].long_data) {
                decoded->params[param].value = util::as_bytes(bytes);
                decoded->params[param].long_data_kept = true;
            }
    if (decoded->new_params_bound) {
        s.bound_types.clear();
        for (const auto& p : decoded->params) s.bound_types.push_back(p.type);
    }
    if (statement) *statement = &s;
    return decoded;
}

void MySqlPreparedStatements::on_reset(std::uint32_t statement) {
    auto it = statements_.find(statement);
    if (it != statements_.end()) drop_long_data(it->second);
}

void MySqlPreparedStatements::on_close(std::uint32_t statement) {
    auto it = statements_.find(statement);
    if (it == statements_.end()) return;
    text_bytes_ -= it->second.text.size();
    drop_long_data(it->second);
    statements_.erase(it);
}

void MySqlPreparedStatements::clear() {
    statements_.clear();
    // The answers to the prepares sent before still come, in order: their places stay.
    for (auto& p : pending_) p = PreparedStatement{.followed = false};
    text_bytes_ = 0;
    long_bytes_ = 0;
    last_id_.reset();
    last_failed_ = false;
}

const PreparedStatement* MySqlPreparedStatements::find(std::uint32_t statement) const {
    auto it = statements_.find(statement);
    return it == statements_.end() ? nullptr : &it->second;
}

std::string mysql_execute_with_types(util::Bytes payload,
                                     const protocol::mysql::StmtExecute& execute,
                                     const std::vector<protocol::mysql::ParamType>& types) {
    // 0x17, id (4), flags (1), iteration count (4), NULL bitmap, new-params-bound flag.
    const std::size_t flag_at = 10 + (execute.params.size() + 7) / 8;
    std::string out(util::as_chars(payload.first(flag_at)));
    out += '\x01';
    for (const auto& t : types) {
        out += static_cast<char>(t.type);
        out += static_cast<char>(t.is_unsigned ? 0x80 : 0x00);
    }
    out += util::as_chars(payload.subspan(flag_at + 1));
    return out;
}

}  // namespace uniqguard::proxy
