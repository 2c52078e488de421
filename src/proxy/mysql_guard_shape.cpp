// MySqlGuard: the common path of a text INSERT whose shape is known (mysql_insert_shape.hpp).
#include <algorithm>

#include "guard/key_fingerprint.hpp"
#include "guard/mysql_guard_table.hpp"
#include "proxy/mysql_guard.hpp"
#include "proxy/mysql_insert_shape.hpp"
#include "proxy/mysql_session_settings.hpp"

namespace uniqguard::proxy {

bool MySqlGuard::passes_by_shape(const MySqlInsertShapePlan& plan, std::string_view text,
                                 const std::vector<sql::MySqlToken>& tokens,
                                 const MySqlSessionSettings& settings) {
    auto& g = *plan.guard;
    if (g.state() != guard::GuardLoadState::ready || g.mysql_table() != plan.table) return false;
    const auto& keys = plan.table->keys;
    const auto& dialect = settings.dialect();
    // Re-used buffers: nothing suspends while they are in use.
    thread_local std::string encoded, number;
    thread_local std::vector<std::uint64_t> fingerprints;
    fingerprints.clear();
    // First every key, then the claims and the key set: a statement that leaves the path
    // before its claims has changed nothing, and the full path decides it from scratch. Each
    // value is keyed as mysql_insert_row_keys keys the parsed one.
    for (std::size_t at = 0; at < plan.parts.size(); at += plan.key_width) {
        encoded.clear();
        for (std::size_t k = 0; k < plan.key_width; ++k) {
            const MySqlShapeKeyPart& part = plan.parts[at + k];
            const sql::MySqlToken& token = tokens[part.token];
            const std::string_view spelled = sql::token_text(text, token);
            guard::NormalizedValue value;
            if (part.number) {
                number.assign(part.negative ? "-" : "");
                number += spelled;
                const bool exact = number.find_first_of("eE") == std::string::npos;
                value = keys.literal_key(k,
                                         exact ? guard::MySqlLiteral::exact_number
                                               : guard::MySqlLiteral::approximate_number,
                                         number, settings.client_charset());
            } else {
                const auto bytes = sql::decode_mysql_literal(spelled, token.kind, dialect);
                // An empty string is NULL under EMPTY_STRING_IS_NULL: the full way reads it.
                if (!bytes || (bytes->empty() && dialect.empty_string_is_null)) return false;
                value = keys.literal_key(k, guard::MySqlLiteral::string, *bytes,
                                         settings.client_charset());
            }
            if (!value.ok() || !guard::append_key_part(encoded, value)) return false;
        }
        const std::uint64_t fp = guard::fingerprint_encoded_key(encoded, g.seed());
        if (std::find(fingerprints.begin(), fingerprints.end(), fp) != fingerprints.end())
            return false;  // the same key twice in the statement
        fingerprints.push_back(fp);
    }
    // Claimed before the key set is read (on_insert says why); `log` claims nothing. A key held
    // by another session, or one the key set has (the server must be asked): the full way, with
    // this statement's claims let go first.
    const bool claims = g.config().action != config::GuardAction::log;
    if (claims) {
        claims_.begin_statement();
        note_recorded_write(true, 0);
        for (const std::uint64_t fp : fingerprints)
            if (!claims_.claim(g.claims(), fp, 0, true)) {
                claims_.release_statement();
                return false;
            }
    }
    for (const std::uint64_t fp : fingerprints)
        if (g.keys().contains(fp)) {
            if (claims) claims_.release_statement();
            return false;
        }
    for (const std::uint64_t fp : fingerprints) g.keys().insert(fp);
    g.counters().passed.fetch_add(1, std::memory_order_relaxed);
    g.counters().shape_passes.fetch_add(1, std::memory_order_relaxed);
    return true;
}

}  // namespace uniqguard::proxy
