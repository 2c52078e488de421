#include "proxy/pg_guard.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <unordered_map>

#include "guard/claim_waits.hpp"
#include "guard/key_fingerprint.hpp"
#include "guard/key_normalizer.hpp"
#include "guard/pg_check_sql.hpp"
#include "guard/pg_sql_literal.hpp"
#include "protocol/postgres/message_codes.hpp"
#include "protocol/postgres/message_writer.hpp"
#include "proxy/pg_copy_guard.hpp"
#include "proxy/pg_late_skip_pieces.hpp"
#include "proxy/pg_parameter_substitution.hpp"
#include "proxy/pg_setting_changes.hpp"
#include "sql/pg_lexer.hpp"
#include "sql/pg_nonstandard_strings.hpp"
#include "sql/statement_cache.hpp"
#include "util/ascii_search.hpp"

namespace uniqguard::proxy {

namespace pg = protocol::postgres;
using pg::ReplyUse;

namespace {
// The proxy's own statement and portal in the client's session: never the unnamed ones, which
// the client may be using.
constexpr std::string_view check_name = "uniqguard_check";
constexpr std::uint32_t unknown_oid = 705;

bool is_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return (static_cast<unsigned char>(c) & 0x80) == 0; });
}

bool is_utf8(std::string_view encoding) {
    return encoding == "UTF8" || encoding == "UTF-8" || encoding == "utf8" ||
           encoding == "SQL_ASCII";
}
}  // namespace

struct PgGuard::Prepared {
    std::string sql;  // owned: the statement's ranges point into it
    sql::Statement statement;
    std::vector<std::uint32_t> parameter_types;
    // The plan, once its guard is ready (it cannot change afterwards): made at the first
    // Execute, re-used by the next ones.
    mutable std::optional<WritePlan> plan;
    // A DEALLOCATE or DISCARD was seen since: a Parse of this name may now succeed.
    mutable bool maybe_gone = false;
    // SAVEPOINT, RELEASE or ROLLBACK TO prepared in the extended protocol (JDBC's way):
    // followed at each Execute, as in a Query (pg_session_claims.hpp).
    std::optional<TransactionCommand> transaction;
    // Analysed with strings masked (standard_conforming_strings off, sql::mask_backslash_strings):
    // a COPY's options may be misread, so a guarded COPY is refused.
    bool masked_strings = false;
    // The settings the server read the statement's text under, at its Parse: its literals mean
    // what they meant then (the server converts constants at Parse). nullopt: not known (parsed
    // while a change was unconfirmed, or before the guard existed: adopted at a reload).
    std::optional<protocol::postgres::SessionSettings> parse_settings;
    // parameter_types with the type of each parameter of unspecified type used more than once
    // (with_repeated_parameter_types); made with the plan.
    mutable std::optional<std::vector<std::uint32_t>> execute_types;
    // An upsert on the guard's key, parsed on the server naming another constraint
    // (with_conflict_constraint): its Execute is always the proxy's statement, never the
    // server's.
    bool names_other_constraint = false;
};

struct PgGuard::Portal {
    std::shared_ptr<const Prepared> prepared;
    std::string body;  // the Bind body, owned: `bind` points into it
    pg::BindMessage bind;
    // Its late write ran (the proxy's statement in place of an Execute): the server ran the
    // client's portal to completion, so another Execute of it must not write again.
    bool late_ran = false;
};

struct PgGuard::PendingCheck {
    guard::GuardState* guard = nullptr;
    // A probe of the session's lock_timeout and statement_timeout (PgGuard::waiting): one row,
    // milliseconds.
    bool lock_timeout = false;
    config::GuardAction action = config::GuardAction::reject;
    bool refusal = false;
    // Per event: the key's values as the client wrote them (nullopt = NULL).
    std::vector<std::vector<std::optional<std::string>>> event_values;
    std::string statement;
    bool in_transaction = false;
    // An UPDATE that sets part of the key: the duplicate's values are read from the error.
    bool values_from_detail = false;
    // The probe of an UPDATE's verdict (action log): its detail names the new key's values.
    bool update_probe = false;
    bool late_values = false;  // ...and there are none before (an INSERT whose keys came late)
    // The captured rows are keys the key set must learn (the new keys of an UPDATE, or stored
    // keys of an INSERT); `json_keys`: one value, a JSON array of arrays of text.
    bool new_keys = false;
    bool json_keys = false;
    // A COPY's check: per event, its line, for the error's CONTEXT; a probe's rows are event
    // numbers.
    bool copy = false;
    std::vector<std::uint64_t> copy_lines;
    // The new keys of an INSERT whose keys came late (new_keys): claimed as they come, for the
    // step that ends with ReadyForQuery number `claim_ready`.
    bool late = false;
    std::uint64_t claim_ready = 0;
    // The rows a late INSERT skipped (guard::late_skip_probe): one duplicate each, its key's
    // values as text in the database's encoding, hex.
    bool skipped_rows = false;
};

struct PgGuard::Decision {
    enum class Kind {
        pass,
        check_after,
        probe_after,
        check_before,
        probe_before,
        refuse,
        replace,
        // An INSERT whose keys come late (guard::LateInsertSql): `pre`, the statement between
        // `wrap_prefix` and `wrap_suffix` (held), `learn`, the check `sql`, then `after`.
        late,
        // ON CONFLICT (key) DO UPDATE: `sql` in place of the statement (its count given as
        // INSERT 0 n, held), `learn`, then the check `pre` (a verdict: its error replaces them).
        upsert,
        wait  // a key is claimed by another session: nothing sent (Outcome::wait)
    };
    Kind kind = Kind::pass;
    std::string sql;  // the DO block or SELECT the proxy runs; replace: the statement instead
    std::uint32_t tag = 0;
    // A SELECT run before `sql` whose rows are `probe_tag`'s (replace: the tag's); may be empty.
    std::string probe;
    std::uint32_t probe_tag = 0;
    // A SELECT run right after the statement: the stored keys the key set must learn.
    std::string learn;
    std::uint32_t learn_tag = 0;
    // A statement run right before, whose replies are all dropped (the UPDATE's precheck).
    std::string pre;
    // replace: where the client's own text sits in `sql`; late: see late_text.
    std::vector<guard::CopiedText> copies;
    std::string wrap_prefix, wrap_suffix, after;  // late
    // late, skipping duplicates: the whole statement sent instead of the prefix, the client's
    // statement and the suffix (`copies`: where the client's text sits in it, origins counted
    // from the statement's start).
    std::string late_text;
    // ...run after the stage's filling, whose rows are the keys (learn_tag's, in place of
    // `learn`): the client's rows are computed, and their keys claimed, before any is written.
    std::string stage_fill;
    std::vector<guard::CopiedText> stage_fill_copies;
    // late: where in the statement `wrap_prefix` goes (after a data-modifying WITH list, which
    // heads the wrapper; 0: before the statement).
    std::size_t wrap_at = 0;
    std::string statement;            // late: the statement to wrap, its parameters written in
    bool rows_returned = false;       // upsert, late: with RETURNING
    bool late_update = false;         // late: the statement is an UPDATE (tag `UPDATE n`)
    std::uint32_t extra_columns = 1;  // ...with RETURNING: this many columns of the proxy's last
    bool check_first = false;         // upsert: its check before the statement
    bool statement_prefix = false;    // replace: `sql` is the start of the client's statement
    // late, run as written (WritePlan::late_scan): its rows are the client's (a SELECT,
    // RETURNING), held as they come, in the client's result formats
    bool scan_rows = false;
    // late, not through a stage: where its check can refuse more rows (with_committed_rows)
    guard::CommittedRowsSlot committed;
};

namespace {
bool is_prepare_transaction(const sql::Statement& st) {
    const auto* t = st.get<sql::TransactionStatement>();
    return t != nullptr && t->kind == sql::TransactionStatement::Kind::prepare;
}

// Past the blanks and comments (`--`, nested `/* */`) at `at` of `sql`.
std::size_t skip_blanks(std::string_view sql, std::size_t at) {
    for (;;) {
        while (at < sql.size() && std::isspace(static_cast<unsigned char>(sql[at]))) ++at;
        if (sql.substr(at, 2) == "--") {
            at = sql.find('\n', at);
            if (at == std::string_view::npos) at = sql.size();
        } else if (sql.substr(at, 2) == "/*") {
            int depth = 0;  // PostgreSQL's block comments nest
            do {
                if (sql.substr(at, 2) == "/*") {
                    ++depth;
                    at += 2;
                } else if (sql.substr(at, 2) == "*/") {
                    --depth;
                    at += 2;
                } else {
                    ++at;
                }
            } while (depth > 0 && at < sql.size());
        } else {
            return at;
        }
    }
}

// Whether the word `w` (lower case) stands at `at` of `sql`; `at` moves past it if so.
bool word_at(std::string_view sql, std::size_t& at, std::string_view w) {
    if (at + w.size() > sql.size()) return false;
    for (std::size_t i = 0; i < w.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(sql[at + i])) != w[i]) return false;
    const std::size_t end = at + w.size();
    if (end < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[end])) || sql[end] == '_'))
        return false;
    at = end;
    return true;
}

// Whether a Parse's text begins (after blanks and comments) with PREPARE TRANSACTION: the cheap
// test before the parse, made for every Parse (a statement parsed before the writes it ends
// may be executed after them).
bool starts_with_prepare_transaction(std::string_view sql) {
    std::size_t at = skip_blanks(sql, 0);
    if (!word_at(sql, at, "prepare")) return false;
    at = skip_blanks(sql, at);
    return word_at(sql, at, "transaction");
}

// Whether a Parse's text begins with EXECUTE, or EXPLAIN (which may run one): the cheap test
// for every Parse before one is kept for plan_sql_level.
bool starts_with_execute_or_explain(std::string_view sql) {
    std::size_t at = skip_blanks(sql, 0);
    std::size_t again = at;
    return word_at(sql, at, "execute") || word_at(sql, again, "explain");
}

bool is_sql_execute(const sql::Statement& st) {
    return st.kind() == sql::StatementKind::other &&
           st.get<sql::OtherStatement>()->node == "execute_stmt";
}
}  // namespace

PgGuard::PgGuard(const guard::GuardRegistry* registry, guard::DuplicateLog* duplicates,
                 const SessionIdentity& identity, const pg::SessionSettings& settings,
                 std::shared_ptr<ClaimWaiter> waiter)
    : registry_(registry),
      duplicates_(duplicates),
      identity_(identity),
      settings_(settings),
      waiter_(std::move(waiter)),
      claims_(new_claim_owner(), waiter_) {}

PgGuard::~PgGuard() {
    close_writes();
    // A session that ever waited may end inside a wait (its coroutine destroyed at shutdown):
    // no edge of it may stay in the process-wide wait graph, which others follow.
    if (claims_.wanted().table) guard::ClaimWaits::process().done(claims_.owner());
}

void PgGuard::adopt(const guard::GuardRegistry* next) {
    // Between transactions these are empty already (on_ready_for_query); settled here so that
    // nothing keeps a pointer into the old registry.
    close_writes();
    claims_.release_all();
    for (auto* g : truncated_) registry_->rebuild_keys(*g, "after a TRUNCATE");
    truncated_.clear();
    registry_ = next;
    for (auto& [name, prepared] : prepared_) {
        prepared->plan.reset();
        prepared->execute_types.reset();
    }
    // Outside a transaction block the server has dropped every portal at the last Sync.
    portals_.clear();
    guard_named_statements();
}

void PgGuard::learn_named_statements(NamedStatementTexts texts) {
    unguarded_ = std::move(texts);
    guard_named_statements();
}

void PgGuard::guard_named_statements() {
    if (unguarded_.take_overflow())
        spdlog::warn(
            "guard: this session prepared more than {} bytes of named statements on tables "
            "that were not guarded then; those not kept stay unguarded until prepared again",
            NamedStatementTexts::max_bytes);
    for (auto& [name, text] :
         unguarded_.take_if([&](const std::string& sql) { return registry_->may_mention(sql); })) {
        // As if parsed now (on_parse), but the server already holds the statement as written:
        // a form the server refuses at Parse, or one the guard would rewrite, is left alone.
        // What is not kept goes back to the texts: a later reload may guard its table.
        auto prepared = std::make_shared<Prepared>();
        prepared->sql = text.sql;  // a copy: the statement's ranges point into it
        auto analysis = sql::analyse_postgres(prepared->sql);
        std::optional<WritePlan> plan;
        if (!analysis.error && analysis.statements.size() == 1)
            plan = plan_write(analysis.statements[0], prepared->sql, *registry_, lex_options());
        if (!plan || plan->must_rewrite || prepared_.contains(name) ||
            (plan->kind == WritePlan::Kind::refuse && plan->refuse_at_parse)) {
            unguarded_.put_back(name, std::move(text));
            continue;
        }
        prepared->statement = std::move(analysis.statements[0]);
        prepared->parameter_types = std::move(text.parameter_types);
        prepared->maybe_gone = text.maybe_gone;
        prepared_.emplace(name, std::move(prepared));
    }
}

void PgGuard::writing_to(guard::GuardState& g) {
    for (const auto& [open, epoch] : open_writes_)
        if (open == &g) return;
    open_writes_.emplace_back(&g, g.open_writer());
}

void PgGuard::close_writes() {
    for (const auto& [g, epoch] : open_writes_) g->close_writer(epoch);
    open_writes_.clear();
}

const guard::SessionContext& PgGuard::session_context() {
    // ParameterStatus changes these rarely; reading them costs a parse, so it is done once.
    if (context_time_zone_ != settings_.time_zone || context_date_style_ != settings_.date_style ||
        !context_) {
        context_time_zone_ = settings_.time_zone;
        context_date_style_ = settings_.date_style;
        context_ =
            guard::SessionContext::from_settings(context_time_zone_, context_date_style_, true);
    }
    return *context_;
}

bool PgGuard::claim(guard::GuardState& g, std::uint64_t fp, std::uint64_t ready,
                    bool records_commit) {
    if (g.config().action == config::GuardAction::log || in_failed_transaction_) return true;
    return claims_.claim(g.claims(), fp, ready, records_commit);
}

PgGuard::Decision PgGuard::wait_or_interrupt(guard::GuardState& g) {
    if (interrupt_) {
        // The wait timed out or was cancelled: the server raises the error in place of the
        // statement, so the transaction fails as after the server's own (55P03, 57014).
        const Interrupt why = std::move(*interrupt_);
        interrupt_.reset();
        wait_guard_ = nullptr;
        PendingCheck c{.guard = &g, .action = g.config().action, .refusal = true};
        return Decision{Decision::Kind::refuse,
                        guard::refusal_block(why.sqlstate, why.message, why.hint),
                        remember(std::move(c))};
    }
    wait_guard_ = &g;
    if (waiter_) waiter_->arm();
    return Decision{Decision::Kind::wait};
}

void PgGuard::forget_checks_since(std::uint32_t first_tag) {
    for (std::uint32_t tag = first_tag; tag != next_tag_; ++tag) pending_.erase(tag);
    next_tag_ = first_tag;
}

std::uint32_t PgGuard::remember(PendingCheck check) {
    const std::uint32_t tag = next_tag_++;
    if (next_tag_ == 0) next_tag_ = 1;  // 0 is the client's
    pending_.insert_or_assign(tag, std::move(check));
    return tag;
}

namespace {
// One key column's value, read.
struct ResolvedPart {
    guard::NormalizedValue normalized;   // status ok / null / invalid / cannot_normalize
    std::optional<std::string> sql;      // for the server-side check; nullopt = NULL
    std::optional<std::string> display;  // for the duplicate log; nullopt = NULL
    bool unusable = false;               // the proxy cannot even write a check for it
};

// A COPY analysed with its strings masked (sql::mask_backslash_strings): its options (DELIMITER
// '\t' reads as a tab) were not read as the server reads them, so it is refused, whatever the
// plan said of them.
WritePlan masked_copy_refusal(const WritePlan& copy) {
    WritePlan p = copy;
    p.kind = WritePlan::Kind::refuse;
    p.refusal =
        "uniqguard: COPY FROM STDIN with a backslash in a string under "
        "standard_conforming_strings off on table \"" +
        copy.guard->config().table + "\" is not enforced by guard \"" + copy.guard->config().name +
        "\" yet; the statement was refused";
    return p;
}

// Whether a string literal of `sql` holds a digit (it may be a date or a time).
bool has_digit_in_string(std::string_view sql, bool standard_conforming_strings) {
    std::vector<sql::Token> tokens;
    sql::lex_postgres(sql, tokens, {.standard_conforming_strings = standard_conforming_strings});
    for (const auto& t : tokens) {
        if (!sql::is_string_kind(t.kind)) continue;
        const auto body = sql::token_text(sql, t);
        if (std::any_of(body.begin(), body.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return true;
    }
    return false;
}

// `text` (an ON CONFLICT DO UPDATE's SET list or WHERE) with every EXCLUDED.<column> made the
// proposed row's value in the proxy's rewrite (guard::excluded_column). nullopt: a column the
// rows do not set (the server would give its default; the rewrite has none).
std::optional<std::string> rewrite_excluded(std::string_view text, sql::LexOptions lex,
                                            const std::vector<std::string>& columns,
                                            const guard::GuardTable& table) {
    std::vector<sql::Token> tokens;
    if (!sql::lex_postgres(text, tokens, lex)) return std::nullopt;
    std::string out;
    std::size_t at = 0;
    for (std::size_t i = 0; i + 2 < tokens.size(); ++i) {
        if (!sql::is_word(text, tokens[i], "excluded") || !sql::is_symbol(text, tokens[i + 1], "."))
            continue;
        const auto& c = tokens[i + 2];
        std::string name(sql::token_text(text, c));
        if (c.kind == sql::TokenKind::quoted_identifier && name.size() >= 2) {
            name = name.substr(1, name.size() - 2);
        } else if (c.kind == sql::TokenKind::identifier) {
            for (char& ch : name)
                ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        } else {
            return std::nullopt;  // EXCLUDED.* or worse
        }
        auto it = std::find(columns.begin(), columns.end(), name);
        std::string value;
        if (it != columns.end()) {
            value = guard::excluded_column(static_cast<std::size_t>(it - columns.begin()));
        } else {
            // Not set by the rows: the proposed row has the column's default, NULL when it
            // has none (a default of its own is not placed here).
            auto c = std::find_if(table.columns.begin(), table.columns.end(),
                                  [&](const auto& col) { return col.name == name; });
            if (c == table.columns.end() || c->has_default || c->identity != 0 || c->generated)
                return std::nullopt;
            value = "CAST(NULL AS " + c->type_name + ")";
        }
        out.append(text.substr(at, tokens[i].offset - at));
        out += value;
        at = c.end();
        i += 2;
    }
    // A bare EXCLUDED (a whole-row reference) cannot be placed either.
    for (const auto& t : tokens)
        if (sql::is_word(text, t, "excluded") && t.offset >= at) return std::nullopt;
    out.append(text.substr(at));
    return out;
}

// `statement` (an INSERT) up to its ON CONFLICT clause. nullopt: none found.
std::optional<std::string> without_on_conflict(std::string_view statement, sql::LexOptions lex) {
    std::vector<sql::Token> tokens;
    if (!sql::lex_postgres(statement, tokens, lex)) return std::nullopt;
    int depth = 0;
    for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
        if (sql::is_symbol(statement, tokens[i], "(")) ++depth;
        if (sql::is_symbol(statement, tokens[i], ")")) --depth;
        if (depth == 0 && sql::is_word(statement, tokens[i], "on") &&
            sql::is_word(statement, tokens[i + 1], "conflict"))
            return std::string(statement.substr(0, tokens[i].offset));
    }
    return std::nullopt;
}

// An upsert's RETURNING list for the proxy's UPDATE … FROM: a top-level `*` made `target.*`.
// nullopt: a form it does not place (`t.*` of another name is fine; a bare `*` inside an
// expression cannot be one).
std::optional<std::string> returning_of_target(std::string_view list, const std::string& target,
                                               sql::LexOptions lex) {
    std::vector<sql::Token> tokens;
    if (!sql::lex_postgres(list, tokens, lex)) return std::nullopt;
    std::string out;
    std::size_t at = 0;
    int depth = 0;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const auto& t = tokens[i];
        if (sql::is_symbol(list, t, "(")) ++depth;
        if (sql::is_symbol(list, t, ")")) --depth;
        const bool star = sql::token_text(list, t) == "*";
        const bool item_start = i == 0 || sql::is_symbol(list, tokens[i - 1], ",");
        if (depth == 0 && star && item_start) {
            out.append(list.substr(at, t.offset - at));
            out += guard::quote_identifier(target) + ".*";
            at = t.end();
        }
    }
    out.append(list.substr(at));
    return out;
}

// The type a declared parameter OID is read with, for the builtin types keys use; nullopt for
// every other OID.
std::optional<guard::ColumnType> type_of_oid(std::uint32_t oid) {
    const auto kind = guard::kind_of_builtin_oid(oid);
    if (!kind) return std::nullopt;
    return guard::ColumnType{.kind = *kind};
}

bool is_string_type(guard::TypeKind kind) {
    using K = guard::TypeKind;
    return kind == K::text || kind == K::varchar || kind == K::bpchar;
}

// `with_text`: also write the value as SQL and as text for the log (the check and the log need
// them; a key that passes does not).
ResolvedPart resolve(const ValueSource& s, const guard::TableColumn& column,
                     const guard::ColumnType& type, const pg::BindMessage* bind,
                     const std::vector<std::uint32_t>& types, const guard::SessionContext& session,
                     bool literals_readable, bool standard_strings, bool with_text = true) {
    ResolvedPart r;
    switch (s.kind) {
        case ValueSource::Kind::null:
            r.normalized = guard::NormalizedValue::null();
            return r;
        case ValueSource::Kind::string:
        case ValueSource::Kind::boolean: {
            // libpg_query read the literal with standard_conforming_strings on; with it off,
            // our lexer reads it again as the server did.
            std::optional<std::string> redecoded;
            if (s.kind == ValueSource::Kind::string && !standard_strings &&
                !s.literal_token.empty()) {
                std::vector<sql::Token> tokens;
                const sql::LexOptions options{.standard_conforming_strings = false};
                sql::lex_postgres(s.literal_token, tokens, options);
                if (tokens.size() == 1)
                    redecoded = sql::decode_string_token(s.literal_token, tokens[0].kind, options);
                if (!redecoded) {
                    r.normalized.status = guard::NormalizeStatus::cannot_normalize;
                    if (with_text) {
                        r.sql = s.sql;
                        r.display = s.text;
                    }
                    return r;
                }
            }
            const std::string& text = redecoded ? *redecoded : s.text;
            if (with_text) {
                r.sql =
                    guard::canonical_string_literals(s.sql, standard_strings, literals_readable);
                r.display = text;
            }
            // In another encoding an ASCII literal still reads the same (no encoding the proxy
            // accepts puts bytes below 0x80 inside a multibyte character): read here, so that
            // one the server refuses is its error on the client's own statement, as in UTF8.
            auto ascii = [](std::string_view v) {
                return std::all_of(v.begin(), v.end(),
                                   [](char c) { return static_cast<unsigned char>(c) < 0x80; });
            };
            const bool readable = literals_readable || (ascii(s.literal_token) && ascii(text));
            if (s.opaque_cast || !readable) {
                r.normalized.status = guard::NormalizeStatus::cannot_normalize;
            } else {
                r.normalized = s.cast ? guard::normalize_text(type, *s.cast, text, session)
                                      : guard::normalize_text(type, text, session);
            }
            return r;
        }
        case ValueSource::Kind::number:
            if (with_text) {
                r.sql = s.sql;
                r.display = s.text;
            }
            if (s.cast || s.opaque_cast)
                r.normalized.status = guard::NormalizeStatus::cannot_normalize;
            else
                r.normalized = guard::normalize_sql_number(type, s.text);
            return r;
        case ValueSource::Kind::expression:
            // Evaluated by the server's check, never fingerprinted.
            r.normalized.status = guard::NormalizeStatus::cannot_normalize;
            if (!with_text) return r;
            if (bind) {
                auto sql = substitute_parameters(s.sql, {*bind, types},
                                                 {.standard_conforming_strings = standard_strings});
                if (!sql) {
                    r.unusable = true;
                    return r;
                }
                r.sql = std::move(*sql);
            } else {
                r.sql =
                    guard::canonical_string_literals(s.sql, standard_strings, literals_readable);
            }
            r.display = r.sql;
            return r;
        case ValueSource::Kind::parameter:
            break;
    }
    if (!bind) {  // a parameter in a simple query: the server refuses it
        r.normalized.status = guard::NormalizeStatus::invalid;
        return r;
    }
    // Checked before any arithmetic: PostgreSQL 15's scanner gives $2147483648 as INT_MIN.
    if (s.parameter < 1 || static_cast<std::size_t>(s.parameter) > bind->values.size()) {
        r.normalized.status = guard::NormalizeStatus::invalid;  // the server's error to report
        return r;
    }
    const std::size_t i = static_cast<std::size_t>(s.parameter - 1);
    const auto& value = bind->values[i];
    if (!value) {
        r.normalized = guard::NormalizedValue::null();
        return r;
    }
    const bool binary = bind->binary(i);
    const std::uint32_t declared = parameter_type(types, i, binary);
    const bool unspecified = declared == 0 || declared == unknown_oid;
    // The type the server reads the parameter with: the one Parse declared; else the cast's;
    // else (a bare $n in a key column) the column's own.
    std::optional<guard::ColumnType> source;
    if (!unspecified) {
        source = type_of_oid(declared);
    } else if (s.cast) {
        source = s.cast;
    } else if (!s.opaque_cast) {
        source = type;
    }
    if (with_text) {
        if (auto sql = substitute_parameters(s.sql, {*bind, types},
                                             {.standard_conforming_strings = standard_strings,
                                              .whole_value_oid = column.type_oid})) {
            r.sql = std::move(*sql);
        } else {
            r.unusable = true;
            return r;
        }
        r.display = binary ? r.sql : std::optional<std::string>(std::string(*value));
    }
    // In another client encoding the server converts a parameter's text; the normaliser
    // reads UTF-8. Bytes beyond ASCII (the same in every encoding the proxy accepts) are
    // checked and learned from the server instead. A binary value is text only for strings.
    const bool converted_text =
        !literals_readable && (!binary || (source && is_string_type(source->kind))) &&
        std::any_of(value->begin(), value->end(),
                    [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
    if (!source || (s.cast && !unspecified) || s.opaque_cast || converted_text) {
        r.normalized.status = guard::NormalizeStatus::cannot_normalize;
    } else if (binary) {
        r.normalized = guard::normalize_binary(type, *source, util::as_bytes(*value), session);
    } else {
        r.normalized = guard::normalize_text(type, *source, *value, session);
    }
    return r;
}

// One key of one row, read.
struct ResolvedKey {
    guard::KeySql sql;
    std::vector<std::optional<std::string>> display;
    std::string encoded;
    bool fingerprintable = true;
    bool has_null = false;
    bool invalid = false;   // the server will refuse the statement itself
    bool unusable = false;  // no check can be written for it

    // Empty again, its buffers kept (the first pass re-uses one key).
    void reset() {
        sql.clear();
        display.clear();
        encoded.clear();
        fingerprintable = true;
        has_null = invalid = unusable = false;
    }

    // One more column's part, in key order.
    void add(const ResolvedPart& part) {
        unusable = unusable || part.unusable;
        switch (part.normalized.status) {
            case guard::NormalizeStatus::ok:
                guard::append_key_part(encoded, part.normalized);
                break;
            case guard::NormalizeStatus::null:
                has_null = true;
                guard::append_key_null(encoded);
                break;
            case guard::NormalizeStatus::invalid:
                invalid = true;
                break;
            case guard::NormalizeStatus::cannot_normalize:
                fingerprintable = false;
                break;
        }
    }
};

// Reads one key into `k`, which is reset first (its buffers kept: the first pass re-uses one).
void resolve_key_into(ResolvedKey& k, const std::vector<ValueSource>& sources,
                      const guard::GuardTable& table, const pg::BindMessage* bind,
                      const std::vector<std::uint32_t>& types, const guard::SessionContext& session,
                      bool literals_readable, bool standard_strings, bool with_text) {
    k.reset();
    for (std::size_t c = 0; c < sources.size(); ++c) {
        const auto& column = table.columns[table.key_columns[c]];
        auto part = resolve(sources[c], column, table.key_types[c], bind, types, session,
                            literals_readable, standard_strings, with_text);
        if (with_text) {
            k.sql.push_back(std::move(part.sql));
            k.display.push_back(std::move(part.display));
        }
        k.add(part);
    }
}

ResolvedKey resolve_key(const std::vector<ValueSource>& sources, const guard::GuardTable& table,
                        const pg::BindMessage* bind, const std::vector<std::uint32_t>& types,
                        const guard::SessionContext& session, bool literals_readable,
                        bool standard_strings) {
    ResolvedKey k;
    resolve_key_into(k, sources, table, bind, types, session, literals_readable, standard_strings,
                     true);
    return k;
}

// The INSERT path's first pass (PgGuard::decide) in buffers kept per thread: the common
// statement passes without allocating.
struct FirstPassEvent {
    guard::KeyEvent::Kind kind;
    std::size_t key;  // distinct key
    std::size_t row;
};
struct FirstPass {
    ResolvedKey key;
    std::vector<FirstPassEvent> events;
    std::vector<std::size_t> unknown_rows;  // rows whose key cannot be fingerprinted
    std::vector<std::size_t> key_rows;      // per distinct key: its first row
    std::vector<std::size_t> occurrences;
    std::vector<std::pair<std::uint64_t, std::size_t>> seen;  // fingerprint, distinct key
    // passes_by_shape: a literal's text as read, and the statement's fingerprints.
    std::string literal;
    std::vector<std::uint64_t> fingerprints;

    static FirstPass& reset() {
        thread_local FirstPass pass;
        pass.events.clear();
        pass.unknown_rows.clear();
        pass.key_rows.clear();
        pass.occurrences.clear();
        pass.seen.clear();
        pass.fingerprints.clear();
        return pass;
    }
};
}  // namespace

bool PgGuard::learning_keys_of(const guard::GuardState& g) const {
    for (const auto& [tag, check] : pending_)
        if (check.new_keys && check.guard == &g) return true;
    return false;
}

bool PgGuard::passes_by_shape(const InsertShapePlan& plan, std::string_view text,
                              const sql::LiteralShape& shape) {
    auto& g = *plan.guard;
    if (g.state() != guard::GuardLoadState::ready || plan.key_width == 0) return false;
    if (!pending_.empty() && learning_keys_of(g)) return false;
    const auto& table = g.table();
    const auto& session = session_context();
    const bool nulls_distinct = g.config().nulls_distinct;
    // First every key, then the key set: a statement that leaves the path here has changed
    // nothing, and the full path decides it from scratch. Each key is read as decide()'s first
    // pass reads it (ResolvedKey), only from the tokens instead of a WritePlan.
    FirstPass& pass = FirstPass::reset();
    ResolvedKey& key = pass.key;
    for (std::size_t at = 0; at < plan.parts.size(); at += plan.key_width) {
        key.reset();
        for (std::size_t c = 0; c < plan.key_width; ++c) {
            const ShapeKeyPart& part = plan.parts[at + c];
            const auto& type = table.key_types[c];
            ResolvedPart read;  // NULL unless read below
            switch (part.kind) {
                case ShapeKeyPart::Kind::null:
                    break;
                case ShapeKeyPart::Kind::boolean:
                    read.normalized =
                        guard::normalize_text(type, part.boolean ? "true" : "false", session);
                    break;
                case ShapeKeyPart::Kind::string:
                    if (!sql::read_literal(text, shape, sql::ValueKind::literal_string, part.tokens,
                                           pass.literal))
                        return false;
                    read.normalized = guard::normalize_text(type, pass.literal, session);
                    break;
                case ShapeKeyPart::Kind::number:
                    if (!sql::read_literal(text, shape, sql::ValueKind::literal_number, part.tokens,
                                           pass.literal))
                        return false;
                    read.normalized = guard::normalize_sql_number(type, pass.literal);
                    break;
            }
            key.add(read);
        }
        if (key.invalid) return true;  // the server refuses the statement itself, as in decide()
        if (!key.fingerprintable) return false;
        if (key.has_null && nulls_distinct) continue;  // never conflicts
        const std::uint64_t fp = guard::fingerprint_encoded_key(key.encoded, g.seed());
        if (std::find(pass.fingerprints.begin(), pass.fingerprints.end(), fp) !=
            pass.fingerprints.end())
            return false;  // the same key twice in the statement
        pass.fingerprints.push_back(fp);
    }
    // Claimed before the key set hears of them: a session that finds a key present then also
    // finds it claimed, until this transaction has ended. One held by another session: the
    // full path decides (and waits).
    for (const std::uint64_t fp : pass.fingerprints)
        if (!claim(g, fp, 0, plan.writes_every_row)) return false;
    writing_to(g);
    for (const std::uint64_t fp : pass.fingerprints) {
        // Present: the full path checks the statement with the server. The keys added just
        // before are then suspected too, which costs nothing more: the check covers every row.
        if (!g.keys().insert(fp)) return false;
    }
    g.counters().passed.fetch_add(1, std::memory_order_relaxed);
    g.counters().shape_passes.fetch_add(1, std::memory_order_relaxed);
    return true;
}

std::optional<PgGuard::Decision> PgGuard::two_phase_refusal(const sql::Statement& statement) {
    if (open_writes_.empty() || !is_prepare_transaction(statement)) return std::nullopt;
    // After PREPARE TRANSACTION the outcome is decided by a COMMIT PREPARED or ROLLBACK PREPARED
    // that may come from any session, or never: the keys this transaction added could be
    // neither confirmed nor freed. The server raises the refusal, so the transaction is failed
    // as after any error inside it (ROLLBACK ends it).
    auto& g = *open_writes_.front().first;
    const auto& cfg = g.config();
    g.counters().refused.fetch_add(1, std::memory_order_relaxed);
    PendingCheck c{.guard = &g, .action = cfg.action, .refusal = true};
    return Decision{Decision::Kind::refuse,
                    guard::refusal_block(
                        "0A000",
                        "uniqguard: PREPARE TRANSACTION is refused in a transaction that wrote "
                        "to table \"" +
                            cfg.table + "\", guarded by \"" + cfg.name + "\"",
                        "uniqguard cannot follow a two-phase commit (COMMIT PREPARED may come "
                        "from another session); commit this transaction directly"),
                    remember(std::move(c))};
}

std::string PgGuard::upsert_statement_refusal() {
    return guard::refusal_block(
        "0A000",
        "uniqguard: this prepared INSERT ... ON CONFLICT DO UPDATE cannot be checked any more "
        "(its guard changed since it was prepared, or its portal was forgotten); prepare it "
        "again");
}

std::optional<PgGuard::Decision> PgGuard::execute_refusal(std::string_view statement) {
    // `[EXPLAIN [ANALYZE] [VERBOSE] [(options)]] EXECUTE name [(…)]`: the server runs a
    // statement prepared by a Parse too, without a Bind or an Execute the proxy would read.
    const auto read = read_execute_name(statement, lex_options());
    if (!read || read->empty()) return std::nullopt;
    const std::string& name = *read;
    auto it = prepared_.find(name);
    if (it == prepared_.end() || it->second->transaction) return std::nullopt;
    const auto& prepared = *it->second;
    auto plan = plan_write(prepared.statement, prepared.sql, *registry_, lex_options());
    if (!plan || !plan->guard) return std::nullopt;
    if (plan->guard->config().action == config::GuardAction::log &&
        !prepared.names_other_constraint) {
        spdlog::warn(
            "guard {}: EXECUTE of prepared statement \"{}\" (action = \"log\": forwarded "
            "unchecked)",
            plan->guard->config().name, name);
        return std::nullopt;
    }
    return refused_outright(*plan->guard,
                            "uniqguard: EXECUTE of prepared statement \"" + name +
                                "\", which writes to table \"" + plan->guard->config().table +
                                "\", is not enforced by guard \"" + plan->guard->config().name +
                                "\" yet (its parameters come without a Bind); the statement was "
                                "refused");
}

PgGuard::Decision PgGuard::refused_outright(guard::GuardState& g, const std::string& message,
                                            std::string_view sqlstate) {
    g.counters().refused.fetch_add(1, std::memory_order_relaxed);
    PendingCheck c{.guard = &g, .action = g.config().action, .refusal = true};
    return Decision{Decision::Kind::refuse, guard::refusal_block(sqlstate, message),
                    remember(std::move(c))};
}

std::optional<WritePlan> PgGuard::plan_prepared_body(std::string_view body, bool standard_strings,
                                                     std::string_view& command,
                                                     bool& unreadable) const {
    // Read as the server read it at the PREPARE (the setting may have moved since).
    const auto masked = standard_strings ? std::nullopt : sql::mask_backslash_strings(body);
    auto analysis = sql::analyse_postgres(masked ? std::string_view(*masked) : body);
    unreadable = analysis.error || analysis.statements.size() != 1 ||
                 (!standard_strings && !guard::string_literals_decode(body, false));
    if (unreadable) return std::nullopt;
    const auto& st = analysis.statements[0];
    // The command as the server names it in its errors (25006 in a read-only transaction).
    command = {};
    switch (st.kind()) {
        case sql::StatementKind::insert:
            command = "INSERT";
            break;
        case sql::StatementKind::update:
            command = "UPDATE";
            break;
        case sql::StatementKind::delete_:
            command = "DELETE";
            break;
        case sql::StatementKind::merge:
            command = "MERGE";
            break;
        case sql::StatementKind::other:
            if (st.get<sql::OtherStatement>()->node == "select_stmt") command = "SELECT";
            break;
        default:
            break;
    }
    auto plan = plan_write(st, body, *registry_, sql::LexOptions{standard_strings});
    if (plan && plan->guard && command.empty()) {
        // (no statement a PREPARE takes writes otherwise: VALUES and the four above)
        plan->kind = WritePlan::Kind::refuse;
        plan->refusal = "uniqguard: PREPARE of this statement, which may write to table \"" +
                        plan->guard->config().table + "\", is not enforced by guard \"" +
                        plan->guard->config().name + "\" yet; the statement was refused";
    }
    return plan;
}

bool PgGuard::plan_sql_level(const sql::Statement& st, std::string_view sql,
                             std::optional<WritePlan>& write) {
    if (st.kind() != sql::StatementKind::other) return false;
    const auto& node = st.get<sql::OtherStatement>()->node;
    const std::string_view text = st.trimmed.text(sql);
    auto refused = [&](guard::GuardState& g, std::string message) {
        return refusal_plan(g, std::move(message), text);
    };
    if (!sql_prepared_.empty() && node != "prepare_stmt" && node != "execute_stmt" &&
        node != "explain_stmt") {
        // A kept name run from inside another statement: `CREATE TABLE x AS EXECUTE p`, a DO
        // block's dynamic `EXECUTE 'EXECUTE p(…)'` (found by a review on 2026-11-28: forwarded
        // unchecked, their duplicates admitted). No scan holds them: refused.
        for (const auto& name : names_after_execute(text, lex_options())) {
            if (name.empty() || (!is_utf8(settings_.client_encoding) && !is_ascii(name))) {
                write = refused(*registry_->guards().front(),
                                "uniqguard: a statement running a prepared statement whose name "
                                "uniqguard cannot read, on a session that prepared writes to a "
                                "guarded table, is refused");
                return true;
            }
            if (const auto* kept = sql_prepared_.bodies(name)) {
                std::string_view command;
                bool unreadable = false;
                for (const auto& body : *kept)
                    if (auto plan = plan_prepared_body(body.sql, body.standard_strings, command,
                                                       unreadable);
                        plan && plan->guard) {
                        write = refused(
                            *plan->guard,
                            "uniqguard: a statement running prepared statement \"" + name +
                                "\", which writes to table \"" + plan->guard->config().table +
                                "\", other than EXECUTE itself (CREATE TABLE AS, a "
                                "DO block) is not enforced by guard \"" +
                                plan->guard->config().name + "\" yet; the statement was refused");
                        return true;
                    }
            }
        }
        return false;
    }
    if (node == "prepare_stmt") {
        const auto prepare = read_prepare(text, lex_options());
        if (!prepare) return false;  // plan_write refuses it if it names a guarded table
        const std::string_view body = text.substr(prepare->body_offset);
        // A name beyond ASCII is kept as the client's bytes; the server folds, cuts and
        // compares it in its own encoding (found by a review on 2026-11-28).
        const bool name_readable = is_utf8(settings_.client_encoding) || is_ascii(prepare->name);
        std::string_view command;
        bool unreadable = false;
        const bool standard_strings = settings_.standard_conforming_strings;
        auto plan = plan_prepared_body(body, standard_strings, command, unreadable);
        write = std::nullopt;
        if (!plan || !plan->guard) return true;  // no guarded table written: as it is
        if (!name_readable) {
            write =
                refused(*plan->guard,
                        "uniqguard: PREPARE of a write to table \"" + plan->guard->config().table +
                            "\" (guard \"" + plan->guard->config().name +
                            "\") under a client_encoding other than UTF8 with a name beyond "
                            "ASCII is refused");
            return true;
        }
        auto verdict = plan_sql_prepare(*plan, text);
        if (verdict && verdict->kind == WritePlan::Kind::refuse) {
            write = std::move(verdict);
            return true;
        }
        // Kept before the server has it (it may refuse it: then an EXECUTE of the name only
        // costs a scan); a PREPARE of a name in use keeps the old statement (kept as well).
        if (!sql_prepared_.add(prepare->name, body, standard_strings)) {
            write =
                refused(*plan->guard,
                        "uniqguard: PREPARE of a write to table \"" + plan->guard->config().table +
                            "\" (guard \"" + plan->guard->config().name +
                            "\"): this session has prepared " + "too many such statements (" +
                            std::to_string(SqlPreparedWrites::max_bodies_per_name) +
                            " under one name, or 1 MiB of text); the statement was refused");
            return true;
        }
        write = std::move(verdict);  // nullopt, or unready: when_unready applies
        return true;
    }
    if (node != "execute_stmt" || sql_prepared_.empty()) return false;
    const auto name = read_execute_name(text, lex_options());
    if (!name) return false;
    if (name->empty() || (!is_utf8(settings_.client_encoding) && !is_ascii(*name))) {
        // `EXECUTE U&"…"`, or a name beyond ASCII in another encoding: a name the proxy does not
        // read as the server does may be one of those kept.
        auto& g = *registry_->guards().front();
        write = refused(g,
                        "uniqguard: EXECUTE of a statement whose name uniqguard cannot read, "
                        "on a session that prepared writes to a guarded table, is refused; "
                        "the statement was refused");
        return true;
    }
    const auto* bodies = sql_prepared_.bodies(*name);
    if (!bodies) return false;
    {
        // `EXECUTE p($1)` from a Parse: the server cannot take parameters there (42P02 or
        // 42P18) and answers it itself; the proxy's run would write them in (found by a review).
        std::vector<sql::Token> tokens;
        sql::lex_postgres(text, tokens, lex_options());
        if (std::any_of(tokens.begin(), tokens.end(),
                        [](const sql::Token& t) { return t.kind == sql::TokenKind::parameter; })) {
            write = std::nullopt;
            return true;
        }
    }
    // Judged against every body kept under the name (SqlPreparedWrites says why). The scan
    // finds whatever rows of the guard's table the statement the server holds writes, whichever
    // body that is (or one the proxy never saw: a Parse of that name, a PREPARE before the
    // first one kept), and it asks for the statement's RowDescription, so that rows or none
    // reach the client as they would.
    std::optional<WritePlan> chosen;
    std::string_view chosen_command;
    for (const auto& body : *bodies) {
        std::string_view command;
        bool unreadable = false;
        auto plan = plan_prepared_body(body.sql, body.standard_strings, command, unreadable);
        if (unreadable) {
            // (kept because it parsed then: nothing may pass unjudged)
            write = refused(*registry_->guards().front(),
                            "uniqguard: EXECUTE of prepared statement \"" + *name +
                                "\", which uniqguard cannot read again, is refused");
            return true;
        }
        if (!plan || !plan->guard) continue;  // (its guard gone at a reload)
        if (auto verdict = plan_sql_prepare(*plan, text)) {
            verdict->text = text;
            write = std::move(verdict);  // refused, or unready
            return true;
        }
        if (chosen && chosen->guard != plan->guard) {
            // One scan holds one guard's table.
            write = refused(*chosen->guard,
                            "uniqguard: EXECUTE of prepared statement \"" + *name +
                                "\", prepared more than once with statements writing to table \"" +
                                chosen->guard->config().table + "\" and to table \"" +
                                plan->guard->config().table + "\", is not enforced by guard \"" +
                                chosen->guard->config().name +
                                "\"; the statement was refused (prepare it under a new name)");
            return true;
        }
        if (!chosen) {
            chosen = std::move(plan);
            chosen_command = command;
        }
    }
    write = std::nullopt;
    if (chosen) write = plan_sql_execute(*chosen, st, text, chosen_command);
    return true;
}

std::optional<WritePlan> PgGuard::plan_statement(const sql::Statement& st, std::string_view sql) {
    std::optional<WritePlan> plan;
    if (!plan_sql_level(st, sql, plan)) plan = plan_write(st, sql, *registry_, lex_options());
    return plan;
}

PgGuard::Decision PgGuard::decide(const WritePlan& plan, const pg::BindMessage* bind,
                                  const std::vector<std::uint32_t>& types, bool in_transaction) {
    auto& g = *plan.guard;
    const auto& cfg = g.config();
    writing_to(g);
    auto refusal = [&](std::string_view sqlstate, const std::string& message) {
        g.counters().refused.fetch_add(1, std::memory_order_relaxed);
        PendingCheck c{.guard = &g, .action = cfg.action, .refusal = true};
        return Decision{Decision::Kind::refuse, guard::refusal_block(sqlstate, message),
                        remember(std::move(c))};
    };
    auto unreadable_parameter = [&](std::string_view statement) {
        return refusal("0A000", "uniqguard: a parameter of this " + std::string(statement) +
                                    " table \"" + cfg.table + "\" cannot be checked by guard \"" +
                                    cfg.name + "\"");
    };
    if (plan.kind == WritePlan::Kind::unready) {
        if (cfg.when_unready == config::WhenUnready::forward) {
            g.counters().forwarded_unready.fetch_add(1, std::memory_order_relaxed);
            spdlog::warn(
                "guard {}: key set not ready; write forwarded unchecked (when_unready = "
                "\"forward\"): {}",
                cfg.name, std::string(plan.text.substr(0, 200)));
            return {};
        }
        const std::string why = g.state() == guard::GuardLoadState::failed
                                    ? "its key set could not be loaded: " + g.failure()
                                    : "its key set is still loading";
        return refusal("55000", "uniqguard: writes to table \"" + cfg.table +
                                    "\" are refused until guard \"" + cfg.name + "\" is ready (" +
                                    why + ")");
    }
    if (settings_unconfirmed_) {
        const std::string why =
            "uniqguard: a write to table \"" + cfg.table + "\", guarded by \"" + cfg.name +
            "\", sent before the server confirmed a change of standard_conforming_strings, "
            "client_encoding, TimeZone or DateStyle, is refused: the proxy would read its "
            "values under the old setting (wait for the change's reply, or send a Sync, first)";
        if (cfg.action == config::GuardAction::log) {
            spdlog::warn("guard {}: {} (action = \"log\": forwarded unchecked)", cfg.name, why);
            return {};
        }
        return refusal("0A000", why);
    }
    if (plan.kind == WritePlan::Kind::copy) {
        // A prepared COPY under an encoding the proxy does not read (on_execute follows the
        // others).
        WritePlan refused = plan;
        refused.kind = WritePlan::Kind::refuse;
        refused.refusal =
            "uniqguard: COPY FROM STDIN under a client_encoding or server_encoding other than "
            "UTF8 on table \"" +
            cfg.table + "\" is not enforced by guard \"" + cfg.name +
            "\" yet; the statement was refused";
        return decide(refused, bind, types, in_transaction);
    }
    if (plan.kind == WritePlan::Kind::refuse) {
        if (cfg.action == config::GuardAction::log) {
            g.counters().forwarded_unready.fetch_add(1, std::memory_order_relaxed);
            spdlog::warn("guard {}: {} (action = \"log\": forwarded unchecked)", cfg.name,
                         plan.refusal);
            return {};
        }
        return refusal("0A000", plan.refusal);
    }

    const auto& table = g.table();
    const auto& session = session_context();
    // The normaliser takes UTF-8: in another client_encoding the literals are checked by the
    // server without a fingerprint. standard_conforming_strings says how string literals read.
    const bool literals_readable =
        is_utf8(settings_.client_encoding) && is_utf8(settings_.server_encoding);
    // In these encodings a multibyte character's second byte may be a backslash or a quote:
    // text the proxy writes byte by byte into its checks could be read differently.
    static constexpr std::string_view unsafe_encodings[] = {
        "SJIS", "SHIFT_JIS_2004", "BIG5", "GBK", "GB18030", "UHC", "JOHAB"};
    for (auto e : unsafe_encodings)
        if (settings_.client_encoding == e)
            return refusal("0A000", "uniqguard: writes to table \"" + cfg.table +
                                        "\" are refused under client_encoding " + std::string(e) +
                                        ": guard \"" + cfg.name + "\" cannot check them safely");
    const bool standard_strings = settings_.standard_conforming_strings;
    const bool nulls_distinct = cfg.nulls_distinct;
    const bool reject = cfg.action != config::GuardAction::log;

    if (plan.kind == WritePlan::Kind::upsert) {
        // A prepared upsert (parsed naming another constraint, on_parse): its parameters are
        // written into the proxy's statement, which answers the client's Execute.
        guard::UpsertRewrite up;
        const auto& t = plan.insert_text;
        const SubstitutionContext of_target{
            .standard_conforming_strings = standard_strings,
            .table = &table,
            .qualifier = t.alias.empty() ? std::string_view(table.name) : t.alias,
            .target_name = &plan.target_name};
        auto with_parameters = [&](std::string text, const SubstitutionContext& context) {
            return bind ? substitute_parameters(text, {*bind, types}, context)
                        : std::optional<std::string>(std::move(text));
        };
        up.alias = t.alias;
        up.columns = t.columns;
        if (!bind) {
            up.values = t.values;
        } else {
            for (const auto& row : t.values) {
                std::vector<std::string> values;
                for (std::size_t c = 0; c < row.size(); ++c) {
                    // As in the skipping rewrite: literals as E'' strings, a bare $n as its
                    // column's type.
                    std::uint32_t column_oid = 0;
                    for (const auto& col : table.columns)
                        if (c < t.columns.size() && col.name == t.columns[c])
                            column_oid = col.type_oid;
                    auto value = with_parameters(guard::canonical_string_literals(
                                                     row[c], standard_strings, literals_readable),
                                                 {.standard_conforming_strings = standard_strings,
                                                  .whole_value_oid = column_oid});
                    if (!value) return unreadable_parameter("INSERT into");
                    values.push_back(std::move(*value));
                }
                up.values.push_back(std::move(values));
            }
        }
        up.overriding = t.overriding == sql::Overriding::system_value ? "OVERRIDING SYSTEM VALUE"
                        : t.overriding == sql::Overriding::user_value ? "OVERRIDING USER VALUE"
                                                                      : "";
        up.nulls_distinct = nulls_distinct;
        auto set = rewrite_excluded(plan.upsert_set, lex_options(), t.columns, table);
        auto where = rewrite_excluded(plan.upsert_where, lex_options(), t.columns, table);
        // Prepared: the server warned of the text's backslash strings at its Parse (22P06, under
        // standard_conforming_strings off); its strings go as E'' literals, so not again.
        auto read_once = [&](std::optional<std::string>& text) {
            if (text && bind && !standard_strings)
                text = guard::canonical_string_literals(*text, standard_strings, literals_readable);
        };
        read_once(set);
        read_once(where);
        if (set && where) {
            set = with_parameters(std::move(*set), of_target);
            where = with_parameters(std::move(*where), of_target);
            if (!set || !where) return unreadable_parameter("INSERT into");
        }
        if (!set || !where)
            return refusal("0A000", "uniqguard: INSERT ... ON CONFLICT DO UPDATE on table \"" +
                                        cfg.table +
                                        "\" naming an EXCLUDED column its rows leave to a default "
                                        "is not enforced by guard \"" +
                                        cfg.name + "\" yet; the statement was refused");
        // A value the INSERT's assignment refuses ('3'::text into an integer column): the
        // server refuses the statement while analysing it (42804), before any row. The
        // statement without its ON CONFLICT clause gets that error, at the same position, from
        // the server (the rewrite casts every value and would not).
        for (const auto& row : t.values)
            for (std::size_t i = 0; i < row.size() && i < t.columns.size(); ++i) {
                const auto c =
                    std::find_if(table.columns.begin(), table.columns.end(),
                                 [&](const auto& col) { return col.name == t.columns[i]; });
                if (c == table.columns.end() || guard::assignable_to(row[i], *c, lex_options()))
                    continue;
                // Should the server accept it after all, the refusal after it undoes it: never
                // a write without its ON CONFLICT and unchecked.
                auto cut = bind ? std::nullopt : without_on_conflict(plan.text, lex_options());
                auto refused = refusal(
                    "0A000", "uniqguard: INSERT ... ON CONFLICT DO UPDATE on table \"" + cfg.table +
                                 "\" with a value of an explicit string cast is not enforced by "
                                 "guard \"" +
                                 cfg.name + "\" yet; the statement was refused");
                if (!cut) return refused;
                Decision d{.kind = Decision::Kind::replace, .sql = std::move(*cut)};
                d.statement_prefix = true;
                d.after = std::move(refused.sql);
                d.tag = refused.tag;
                return d;
            }
        up.set_list = std::move(*set);
        up.where = std::move(*where);
        if (!t.returning.empty()) {
            // In an UPDATE … FROM, `*` would be the proposed rows' columns too.
            auto returning = returning_of_target(
                t.returning, t.alias.empty() ? table.name : t.alias, lex_options());
            read_once(returning);
            if (returning) {
                returning = with_parameters(std::move(*returning),
                                            {.standard_conforming_strings = standard_strings});
                if (!returning) return unreadable_parameter("INSERT into");
            }
            if (!returning)
                return refusal("0A000", "uniqguard: INSERT ... ON CONFLICT DO UPDATE on table \"" +
                                            cfg.table +
                                            "\" with this RETURNING list is not enforced by "
                                            "guard \"" +
                                            cfg.name + "\" yet; the statement was refused");
            up.returning = std::move(*returning);
        }
        // Each proposed key is claimed as an INSERT's (an upsert of a key another transaction
        // is writing waits for it) and known to the key set.
        std::vector<guard::KeySql> keys, unknown;
        // The first row the server refuses for a NULL in a NOT NULL key column.
        std::optional<std::size_t> first_null_row;
        for (std::size_t r = 0; r < plan.rows.size(); ++r) {
            const auto& row = plan.rows[r];
            auto key =
                resolve_key(row, table, bind, types, session, literals_readable, standard_strings);
            if (key.unusable) return unreadable_parameter("INSERT into");
            keys.push_back(key.sql);
            for (std::size_t k = 0; k < row.size(); ++k)
                if (row[k].kind == ValueSource::Kind::null &&
                    table.columns[table.key_columns[k]].not_null && !first_null_row)
                    first_null_row = r;

            // A value the server refuses (out of range) is refused by the rewrite too, as the
            // client's statement, which the server cannot even plan without the index, is not.
            if (key.invalid || (key.has_null && nulls_distinct)) continue;
            // Not fingerprinted here: the server writes it back for the key set, after the
            // statement (which may have inserted it).
            if (!key.fingerprintable) {
                unknown.push_back(key.sql);
                continue;
            }
            const auto fp = guard::fingerprint_encoded_key(key.encoded, g.seed());
            if (!claim(g, fp)) return wait_or_interrupt(g);
            g.keys().insert(fp);
        }
        if (!bind) up.value_origins = t.value_offsets;
        Decision d{.kind = Decision::Kind::upsert};
        d.sql = guard::upsert_statement(table, up, &d.copies);
        d.rows_returned = !up.returning.empty();
        // A row with a NULL in a NOT NULL key column fails the statement there: a repeat
        // before it wins (the check runs first, on the rows before it), any later one cannot
        // be reached. (Keys the proxy cannot read are compared by the server's check.)
        d.check_first = first_null_row.has_value();
        if (d.check_first) keys.resize(*first_null_row);
        d.pre = keys.empty() ? std::string("SELECT")
                             : guard::upsert_check(table, cfg, keys, nulls_distinct);
        if (!unknown.empty()) {
            d.learn = guard::stored_keys_probe(table, unknown);
            d.learn_tag =
                remember(PendingCheck{.guard = &g, .action = cfg.action, .new_keys = true});
        }
        d.tag = remember(PendingCheck{.guard = &g, .action = cfg.action, .refusal = true});
        return d;
    }
    if (plan.kind == WritePlan::Kind::late_insert) {
        // The keys are the server's to report (guard::LateInsertSql). A prepared statement's
        // Execute runs as the proxy's statement, its parameters written in as SQL values.
        std::optional<std::string> statement(plan.text);
        if (bind)
            statement = substitute_parameters(
                plan.text, {*bind, types},
                {.standard_conforming_strings = standard_strings,
                 .table = &table,
                 .qualifier = plan.alias.empty() ? std::string_view(table.name) : plan.alias,
                 .target_name = &plan.target_name});
        if (!statement) return refusal("0A000", plan.refusal);
        // The server read a prepared statement's text at its Parse, warning there of each
        // backslash in a plain string under standard_conforming_strings off (22P06): the text
        // it reads again in the proxy's statement has its strings as E'' literals, so that the
        // client gets the warning once, as from the statement itself.
        if (bind && !standard_strings)
            *statement =
                guard::canonical_string_literals(*statement, standard_strings, literals_readable);
        std::size_t wrap_at = 0;
        if (plan.late_hoist) {
            // Found again in the text sent (parameters written in move it).
            const auto at = insert_after_with(*statement, lex_options());
            if (!at) return refusal("0A000", plan.refusal);
            wrap_at = *at;
        }
        // One that skips duplicates goes through a stage; the whole statement is built here.
        std::optional<LateSkipWrapper> skip;
        if (plan.late_skip) {
            skip = late_skip_wrapper(plan, *statement, nulls_distinct, lex_options());
            if (!skip) return refusal("0A000", plan.refusal);
            wrap_at = 0;
        }
        // An UPDATE's key columns returned under its alias or table name (its FROM list may
        // have columns of those names).
        const std::string qualifier =
            plan.late_update ? guard::quote_identifier(plan.alias.empty() ? table.name : plan.alias)
                             : std::string();
        const auto late =
            skip ? skip->late
            : plan.late_scan
                ? guard::late_scan_sql(table, cfg, nulls_distinct)
                : guard::late_insert_sql(table, cfg, nulls_distinct, plan.late_returning,
                                         plan.late_hoist, {}, qualifier, plan.late_command());
        Decision d{.kind = Decision::Kind::late, .sql = late.reject_check};
        if (skip) {
            d.late_text = std::move(skip->text);
            d.copies = std::move(skip->copies);
            d.stage_fill = std::move(skip->stage_fill);
            d.stage_fill_copies = std::move(skip->stage_fill_copies);
            // The skipped rows, one duplicate-log line each.
            d.probe = std::move(skip->skipped_probe);
            d.probe_tag = remember(PendingCheck{.guard = &g,
                                                .action = cfg.action,
                                                .statement = std::string(plan.text),
                                                .in_transaction = in_transaction,
                                                .skipped_rows = true});
        }
        d.wrap_at = wrap_at;
        // With RETURNING its rows come with the key columns last, which the session removes.
        d.rows_returned = plan.late_returning;
        d.late_update = plan.late_update;
        d.scan_rows = plan.late_scan && plan.scan_rows;
        d.extra_columns = static_cast<std::uint32_t>(table.key_columns.size());
        d.statement = std::move(*statement);  // on_execute's (on_query copies the client's text)
        d.pre = late.prepare;
        d.wrap_prefix = late.prefix;
        d.wrap_suffix = late.suffix;
        d.after = late.clear;
        // (A skipping one's keys are the stage's, read as it is filled.)
        if (!skip) d.learn = late.keys_probe;
        if (!skip) d.committed = late.committed;
        d.learn_tag = remember(PendingCheck{
            .guard = &g, .new_keys = true, .late = true, .claim_ready = claims_.next_ready()});
        d.tag = remember(PendingCheck{.guard = &g,
                                      .action = cfg.action,
                                      .statement = std::string(plan.text),
                                      .in_transaction = in_transaction,
                                      .values_from_detail = true,
                                      .late_values = true});
        g.counters().checked.fetch_add(1, std::memory_order_relaxed);
        return d;
    }

    if (plan.kind == WritePlan::Kind::update) {
        // Only the columns the UPDATE sets are read here; the others keep each row's value.
        std::vector<ValueSource> set_sources;
        for (std::size_t i = 0; i < plan.update_key.size(); ++i)
            if (plan.update_assigned[i]) set_sources.push_back(plan.update_key[i]);
        const bool whole_key = set_sources.size() == plan.update_key.size();
        guard::UpdateCheck check;
        check.assigned = plan.update_assigned;
        check.alias = plan.alias;
        check.where =
            guard::canonical_string_literals(plan.where, standard_strings, literals_readable);
        check.from =
            guard::canonical_string_literals(plan.from, standard_strings, literals_readable);
        check.nulls_distinct = nulls_distinct;
        ResolvedKey key;
        for (std::size_t i = 0; i < plan.update_key.size(); ++i) {
            if (!plan.update_assigned[i]) {
                check.key.emplace_back(std::nullopt);
                key.display.emplace_back(std::nullopt);
                continue;
            }
            const auto& column = table.columns[table.key_columns[i]];
            auto part = resolve(plan.update_key[i], column, table.key_types[i], bind, types,
                                session, literals_readable, standard_strings);
            check.key.push_back(part.sql);
            key.display.push_back(part.display);
            key.add(part);
        }
        if (key.invalid) return {};
        if (bind) {
            // `column = $n` types the parameter as the target's column (`u.course_id = $2`).
            // The WHERE's and the FROM list's parameters are written in alike.
            for (std::string* text : {&check.where, &check.from}) {
                if (text->empty() || key.unusable) continue;
                auto substituted = substitute_parameters(
                    *text, {*bind, types},
                    {.standard_conforming_strings = standard_strings,
                     .table = &table,
                     .qualifier = plan.alias.empty() ? std::string_view(table.name) : plan.alias,
                     .target_name = &plan.target_name});
                if (!substituted)
                    key.unusable = true;
                else
                    *text = std::move(*substituted);
            }
        }
        if (key.unusable) return unreadable_parameter("UPDATE on");
        if (key.has_null && nulls_distinct) return {};  // the new keys never conflict
        // The whole new key known: claimed like an INSERT's (a key that depends on each row
        // is not, see docs/guard.md).
        const bool learn = !whole_key || !key.fingerprintable;
        if (!learn && !claim(g, guard::fingerprint_encoded_key(key.encoded, g.seed())))
            return wait_or_interrupt(g);
        g.counters().checked.fetch_add(1, std::memory_order_relaxed);
        Decision d;
        // The new key will be in the table: the key set must know it. When it depends on each
        // row (part of the key set) or cannot be fingerprinted, the server lists the moved
        // rows' new keys.
        if (!learn) g.keys().insert(guard::fingerprint_encoded_key(key.encoded, g.seed()));
        d.pre = guard::update_precheck(table, check, learn);
        if (learn) {
            d.learn = guard::update_keys_probe();
            d.learn_tag = remember(PendingCheck{
                .guard = &g, .action = cfg.action, .new_keys = true, .json_keys = true});
        }
        PendingCheck pending{.guard = &g,
                             .action = cfg.action,
                             .event_values = {key.display},
                             .statement = std::string(plan.text),
                             .in_transaction = in_transaction,
                             .values_from_detail = !whole_key || !key.fingerprintable,
                             .update_probe = !reject};
        d.kind = reject ? Decision::Kind::check_after : Decision::Kind::probe_after;
        d.sql = reject ? guard::update_verdict(table, cfg, learn ? nullptr : &check.key)
                       : guard::update_verdict_probe();
        d.tag = remember(std::move(pending));
        return d;
    }

    // A key value the INSERT's assignment refuses ('3'::text into an integer column): the
    // server reports 42804 while analysing the statement, before anything else.
    // (Only a value with an explicit cast can be one: the others cost nothing here.)
    for (const auto& row : plan.rows)
        for (std::size_t k = 0; k < row.size(); ++k)
            if ((row[k].cast || row[k].opaque_cast) &&
                !guard::assignable_to(row[k].sql, table.columns[table.key_columns[k]],
                                      lex_options()))
                return {};

    // INSERT, first pass (the common path ends here): each row's key fingerprinted, every new
    // fingerprint added to the key set. A row the server will refuse makes the statement the
    // server's to answer.
    // Keys an earlier statement wrote that the key set learns only from the server's reply,
    // still on their way (a pipeline): until then, every key is checked.
    const bool learning = !pending_.empty() && learning_keys_of(g);
    FirstPass& pass = FirstPass::reset();
    std::vector<std::size_t> committed_rows;  // (rarely any: no allocation otherwise)
    auto& key = pass.key;
    auto& events = pass.events;
    auto& unknown_rows = pass.unknown_rows;
    auto& key_rows = pass.key_rows;
    auto& occurrences = pass.occurrences;
    auto& seen = pass.seen;
    for (std::size_t row = 0; row < plan.rows.size(); ++row) {
        resolve_key_into(key, plan.rows[row], table, bind, types, session, literals_readable,
                         standard_strings, false);
        // A value the server will refuse: the statement is the server's to answer (through the
        // rewrite, when the server could not even parse its ON CONFLICT target).
        if (key.invalid) {
            if (!plan.must_rewrite) return {};
            events.clear();
            unknown_rows.clear();
            break;
        }
        if (key.has_null && nulls_distinct) continue;  // never conflicts
        if (!key.fingerprintable) {
            key_rows.push_back(row);
            occurrences.push_back(1);
            events.push_back({guard::KeyEvent::Kind::maybe_existing, key_rows.size() - 1, row});
            unknown_rows.push_back(row);
            continue;
        }
        const std::uint64_t fp = guard::fingerprint_encoded_key(key.encoded, g.seed());
        auto it =
            std::find_if(seen.begin(), seen.end(), [&](const auto& e) { return e.first == fp; });
        if (it != seen.end()) {
            ++occurrences[it->second];
            events.push_back({guard::KeyEvent::Kind::repeat, it->second, row});
            continue;
        }
        seen.emplace_back(fp, key_rows.size());
        key_rows.push_back(row);
        occurrences.push_back(1);
        // Claimed before the key set hears of it (passes_by_shape says why).
        if (!claim(g, fp, 0, plan.writes_every_row)) return wait_or_interrupt(g);
        const bool known = !g.keys().insert(fp);
        if (known || learning)
            events.push_back({guard::KeyEvent::Kind::maybe_existing, key_rows.size() - 1, row});
        // Committed by another transaction since this one began: under REPEATABLE READ its row
        // is not in this snapshot, where a unique index sees it (insert_reject_check).
        if (known && transaction_start_ != 0 && g.claims().committed_after(fp, transaction_start_))
            committed_rows.push_back(row);
    }
    if (events.empty() && !plan.must_rewrite) {
        g.counters().passed.fetch_add(1, std::memory_order_relaxed);
        return {};
    }

    // Second pass, for the check and the log: the keys as SQL and as text.
    guard::InsertCheck check;
    std::vector<std::vector<std::optional<std::string>>> event_values;
    std::vector<std::size_t> repeated_rows;
    auto texts_of = [&](std::size_t row) {
        return resolve_key(plan.rows[row], table, bind, types, session, literals_readable,
                           standard_strings);
    };
    for (std::size_t k = 0; k < key_rows.size(); ++k) {
        auto key = texts_of(key_rows[k]);
        if (key.unusable) return unreadable_parameter("INSERT into");
        check.keys.push_back(std::move(key.sql));
    }
    check.occurrences = occurrences;
    for (const auto& e : events) {
        check.events.push_back({e.kind, e.key});
        event_values.push_back(texts_of(e.row).display);
        if (e.kind == guard::KeyEvent::Kind::repeat) repeated_rows.push_back(e.row);
    }
    // Keys the proxy could not fingerprint still exist once inserted: the server writes them
    // back after the INSERT, and the key set learns them (it must never miss a key that exists).
    std::string learn;
    std::uint32_t learn_tag = 0;
    if (!unknown_rows.empty()) {
        std::vector<guard::KeySql> unknown;
        for (auto row : unknown_rows) unknown.push_back(texts_of(row).sql);
        learn = guard::stored_keys_probe(table, unknown);
        learn_tag = remember(PendingCheck{.guard = &g, .action = cfg.action, .new_keys = true});
    }
    g.counters().checked.fetch_add(1, std::memory_order_relaxed);
    PendingCheck pending{.guard = &g,
                         .action = cfg.action,
                         .event_values = std::move(event_values),
                         .statement = std::string(plan.text),
                         .in_transaction = in_transaction};
    if (plan.skip_duplicates) {
        // Rewritten so that the server skips the rows whose key exists; a probe before it
        // says which rows those are, for the duplicate log.
        const auto& t = plan.insert_text;
        guard::InsertRewrite rw;
        rw.alias = t.alias;
        rw.columns = t.columns;
        rw.returning = t.returning;
        if (!plan.conflict_clause.empty()) {
            // The client's ON CONFLICT … DO NOTHING: kept as written (its parameters, if any,
            // written in as in the rest; copied: error positions in it point back into the
            // client's text).
            std::optional<std::string> clause(plan.conflict_clause);
            if (bind)
                clause = substitute_parameters(*clause, {*bind, types},
                                               {.standard_conforming_strings = standard_strings});
            if (!clause) return unreadable_parameter("INSERT into");
            rw.conflict_clause = std::move(*clause);
            if (!bind) rw.conflict_clause_origin = plan.conflict_clause_offset;
        }
        rw.nulls_distinct = nulls_distinct;
        rw.drop_rows = std::move(repeated_rows);
        rw.overriding = t.overriding == sql::Overriding::system_value ? "OVERRIDING SYSTEM VALUE"
                        : t.overriding == sql::Overriding::user_value ? "OVERRIDING USER VALUE"
                                                                      : "";
        if (!bind) rw.value_origins = t.value_offsets;
        // A value the INSERT's assignment refuses: the server reports 42804 while analysing
        // the statement, before anything about conflicts, so it is the server's to answer.
        for (const auto& row : t.values)
            for (std::size_t c = 0; c < row.size() && c < t.columns.size(); ++c)
                for (const auto& col : table.columns)
                    if (col.name == t.columns[c] &&
                        !guard::assignable_to(row[c], col, lex_options()))
                        return {};
        for (const auto& row : t.values) {
            std::vector<std::string> values;
            for (std::size_t c = 0; c < row.size(); ++c) {
                const auto& v = row[c];
                if (!bind) {
                    values.push_back(v);  // replaces the client's text: read exactly as it
                    continue;
                }
                // A second statement beside the client's prepared one: its literals are
                // written as E'' strings (no second warning), a bare $n as the column's type.
                std::uint32_t column_oid = 0;
                for (const auto& col : table.columns)
                    if (c < t.columns.size() && col.name == t.columns[c]) column_oid = col.type_oid;
                auto substituted = substitute_parameters(
                    guard::canonical_string_literals(v, standard_strings, literals_readable),
                    {*bind, types},
                    {.standard_conforming_strings = standard_strings,
                     .whole_value_oid = column_oid});
                if (!substituted) return unreadable_parameter("INSERT into");
                values.push_back(std::move(*substituted));
            }
            rw.values.push_back(std::move(values));
        }
        if (bind && !t.returning.empty()) {
            auto substituted = substitute_parameters(
                t.returning, {*bind, types}, {.standard_conforming_strings = standard_strings});
            if (!substituted) return unreadable_parameter("INSERT into");
            rw.returning = std::move(*substituted);
        }
        Decision d;
        d.kind = Decision::Kind::replace;
        d.sql = guard::insert_skipping_duplicates(table, cfg, rw, &d.copies);
        if (!check.events.empty()) {
            d.probe = guard::insert_probe(table, check, false);
            d.probe_tag = remember(std::move(pending));
        }
        d.learn = std::move(learn);
        d.learn_tag = learn_tag;
        return d;
    }
    Decision d;
    d.kind = reject ? Decision::Kind::check_after : Decision::Kind::probe_after;
    if (reject) {
        // The server judges every row in order (the first conflicting row is the one a real
        // index refuses); the error's marker names the row, so the log shows that row.
        std::vector<guard::KeySql> rows;
        pending.event_values.clear();
        for (std::size_t row = 0; row < plan.rows.size(); ++row) {
            auto key = texts_of(row);
            if (key.unusable) return unreadable_parameter("INSERT into");
            rows.push_back(std::move(key.sql));
            pending.event_values.push_back(std::move(key.display));
        }
        // A NULL in a NOT NULL key column fails the INSERT at that row; a duplicate in an
        // earlier row must be refused first, so it is judged before the INSERT runs.
        std::optional<std::size_t> null_row;
        for (std::size_t row = 0; row < plan.rows.size() && !null_row; ++row) {
            for (std::size_t k = 0; k < plan.rows[row].size(); ++k) {
                const auto& src = plan.rows[row][k];
                const bool is_null =
                    src.kind == ValueSource::Kind::null ||
                    (src.kind == ValueSource::Kind::parameter && bind && src.parameter >= 1 &&
                     static_cast<std::size_t>(src.parameter) <= bind->values.size() &&
                     !bind->values[static_cast<std::size_t>(src.parameter - 1)]);
                if (is_null && table.columns[table.key_columns[k]].not_null) {
                    null_row = row;
                    break;
                }
            }
        }
        if (null_row && *null_row > 0) {
            rows.resize(*null_row);
            d.kind = Decision::Kind::check_before;
            d.sql =
                guard::insert_reject_check(table, cfg, rows, nulls_distinct, true, committed_rows);
            d.tag = remember(std::move(pending));
            return d;  // the INSERT then fails at that row; no key to learn
        }
        d.sql = guard::insert_reject_check(table, cfg, rows, nulls_distinct, false, committed_rows);
    } else {
        d.sql = guard::insert_probe(table, check, true);
    }
    d.tag = remember(std::move(pending));
    d.learn = std::move(learn);
    d.learn_tag = learn_tag;
    return d;
}

void PgGuard::notice_schema_change(const sql::Statement& st) {
    // The key set stays as it is (a stale key costs a check, never a false duplicate); what
    // changes is that the guard may no longer describe the table. Said loudly, once per
    // statement; /guards and reloads will act on it (operations milestone). A TRUNCATE has its
    // key set rebuilt.
    auto warn = [&](const sql::QualifiedName& t, std::string_view what) {
        if (auto* g = registry_->find(t))
            spdlog::warn(
                "guard {}: {} of its table {} seen from {} (user {}): the guard keeps "
                "its key set and its table description until restarted",
                g->config().name, what, t.to_string(), identity_.client_address, identity_.user);
    };
    switch (st.kind()) {
        case sql::StatementKind::truncate:
            // Its key set is rebuilt once the session's transaction ends (on_ready_for_query);
            // a TRUNCATE that rolled back costs one rebuild, which reads the table as it is.
            for (const auto& t : st.get<sql::TruncateStatement>()->tables)
                if (auto* g = registry_->find(t);
                    g && std::find(truncated_.begin(), truncated_.end(), g) == truncated_.end())
                    truncated_.push_back(g);
            break;
        case sql::StatementKind::alter_table:
            warn(st.get<sql::AlterTableStatement>()->table, "ALTER TABLE");
            break;
        case sql::StatementKind::drop_table:
            for (const auto& t : st.get<sql::DropTableStatement>()->tables) warn(t, "DROP TABLE");
            break;
        case sql::StatementKind::rename:
            warn(st.get<sql::RenameStatement>()->table, "a RENAME");
            break;
        case sql::StatementKind::create_index: {
            const auto& ci = *st.get<sql::CreateIndexStatement>();
            if (ci.unique) warn(ci.table, "CREATE UNIQUE INDEX (the migration may have landed)");
            break;
        }
        default:
            break;
    }
}

namespace {
// Whether a statement follows the first of a simple Query's string (`BEGIN; SELECT …`).
bool more_after_first_statement(std::string_view sql) {
    std::vector<sql::Token> tokens;
    sql::lex_postgres(sql, tokens);
    bool after = false;
    for (const auto& t : tokens) {
        if (sql::is_symbol(sql, t, ";")) {
            after = true;
        } else if (after) {
            return true;
        }
    }
    return false;
}
}  // namespace

bool PgGuard::executes_begin(util::Bytes body) const {
    if (!begin_portal_) return false;
    const auto e = pg::decode_execute(body);
    return e && e->portal == *begin_portal_;
}

PgGuard::Outcome PgGuard::on_client_message(char type, util::Bytes body, util::Bytes raw,
                                            std::string& out, pg::ReplyTracker& tracker,
                                            bool in_transaction) {
    // In a transaction the server already failed, with nothing sent since (no ROLLBACK on its
    // way), the server answers this message 25P02 without running it: its keys are neither
    // claimed nor waited for, as a real index makes no one wait for a failed transaction.
    in_failed_transaction_ = last_status_ == pg::TransactionStatus::failed && tracker.idle();
    // A message that waited and is now decided: its wait is over.
    auto decided = [&](Outcome o) {
        if (!o.wait) {
            interrupt_.reset();
            wait_guard_ = nullptr;
            timeouts_asked_ = false;
        }
        return o;
    };
    switch (static_cast<pg::FrontendCode>(type)) {
        case pg::FrontendCode::query: {
            const std::uint32_t first_tag = next_tag_;
            // Savepoints are followed from the client's text (pg_session_claims.hpp), before
            // the statements after them claim: in `ROLLBACK TO s; INSERT …` the ROLLBACK TO
            // frees the keys claimed since s, not the INSERT's; after `SAVEPOINT s; INSERT …`
            // the INSERT's keys are s's. Once per message, also when it waits and is read
            // again (freeing early is safe: the rows go when the Query runs).
            if (!transaction_command_applied_) {
                std::optional<TransactionCommand> command;
                const auto q = pg::decode_query(body);
                if (q) command = read_transaction_command(q->sql);
                if (command) {
                    using K = TransactionCommand::Kind;
                    const bool alone = !more_after_first_statement(q->sql);
                    if (command->kind != K::begin && command->kind != K::end)
                        note_savepoint_command(*command, alone, q->sql);
                    // Alone in its string, a ROLLBACK TO and an end AND CHAIN are known by
                    // their ReadyForQuery.
                    if (command->kind == K::rollback_to && alone && savepoints_certain_)
                        if (auto mark = claims_.savepoint_mark(command->name))
                            followed_rollbacks_to_.push_back({claims_.next_ready(), *mark});
                    if (command->chain && alone) chain_ends_.push_back(claims_.next_ready());
                    claims_.on_transaction_command(*command);
                    transaction_command_applied_ = true;
                } else if (q && claims_.innermost_savepoint_mark() != 0 &&
                           (util::contains_ignoring_case(q->sql, "savepoint") ||
                            util::contains_ignoring_case(q->sql, "release"))) {
                    // A savepoint set or released where the proxy does not follow it (a later
                    // statement of a string) may shadow or end one it follows.
                    savepoints_certain_ = false;
                }
                // A BEGIN takes no snapshot: the transaction's first statement after it does
                // (in the same string, when one follows it).
                if (!command || command->kind != TransactionCommand::Kind::begin ||
                    (q && more_after_first_statement(q->sql)))
                    note_transaction_start();
            }
            Outcome o = on_query(body, raw, out, tracker, in_transaction);
            if (o.wait) {
                forget_checks_since(first_tag);
                return waiting(false, out, tracker);
            }
            transaction_command_applied_ = false;
            // A Query is answered by one ReadyForQuery.
            claims_.ready_requested();
            return decided(o);
        }
        case pg::FrontendCode::sync:
        case pg::FrontendCode::function_call:
            claims_.ready_requested();
            return {};
        case pg::FrontendCode::parse:
            return on_parse(body, out, tracker);
        case pg::FrontendCode::bind:
            on_bind(body);
            return {};
        case pg::FrontendCode::execute: {
            const std::uint32_t first_tag = next_tag_;
            if (!executes_begin(body)) note_transaction_start();
            Outcome o = on_execute(body, raw, out, tracker, in_transaction);
            if (o.wait) {
                forget_checks_since(first_tag);
                return waiting(true, out, tracker);
            }
            return decided(o);
        }
        case pg::FrontendCode::close:
            on_close(body);
            return {};
        case pg::FrontendCode::copy_data:
        case pg::FrontendCode::copy_done:
        case pg::FrontendCode::copy_fail:
            return on_copy_message(type, body, raw, out, tracker);
        default:
            return {};
    }
}

PgGuard::Outcome PgGuard::on_query(util::Bytes body, util::Bytes, std::string& out,
                                   pg::ReplyTracker& tracker, bool in_transaction) {
    auto q = pg::decode_query(body);
    if (!q) return {};
    // A change of a setting values are read under holds for the statements after it in the
    // string (read_query) and for everything after the string until the server has answered.
    // A Query that waits is read again from the start: as if not read yet.
    const bool unconfirmed_before = settings_unconfirmed_;
    const bool changed_before = settings_changed_in_transaction_;
    const bool changes_settings = changes_read_settings(q->sql);
    Outcome o = read_query(body, out, tracker, in_transaction, changes_settings);
    if (o.wait) {
        settings_unconfirmed_ = unconfirmed_before;
        settings_changed_in_transaction_ = changed_before;
    } else if (changes_settings) {
        setting_changed();
    }
    return o;
}

bool PgGuard::changes_read_settings(std::string_view sql) const {
    return may_change_read_settings(sql) ||
           (settings_changed_in_transaction_ && may_end_transaction(sql));
}

PgGuard::Outcome PgGuard::read_query(util::Bytes body, std::string& out, pg::ReplyTracker& tracker,
                                     bool in_transaction, bool changes_settings) {
    auto q = pg::decode_query(body);
    if (!q) return {};
    if (!setting_statements_.empty() && mentions_deallocation(q->sql))
        for (auto& [name, statement] : setting_statements_) statement.maybe_gone = true;
    if ((!prepared_.empty() || !unguarded_.empty()) && mentions_deallocation(q->sql)) {
        for (auto& [name, prepared] : prepared_) prepared->maybe_gone = true;
        unguarded_.on_deallocation_seen();
    }
    // PREPARE TRANSACTION after guarded writes is refused (two_phase_refusal): such a text is
    // analysed even if it names no guarded table.
    const bool two_phase = !open_writes_.empty() && util::contains_ignoring_case(q->sql, "prepare");
    // SQL-level EXECUTE of a statement the client prepared with a Parse (execute_refusal).
    // ...and of one prepared with PREPARE (plan_sql_level).
    const bool executes = (!prepared_.empty() || !sql_prepared_.empty()) &&
                          util::contains_ignoring_case(q->sql, "execute");
    if (!two_phase && !executes && !registry_->may_mention(q->sql)) return {};
    const std::string_view text = q->sql;
    // The common path: an INSERT of a shape seen before, its keys read from the tokens.
    thread_local sql::LiteralShape shape;  // re-used; nothing suspends while it is in use
    // Its buffers grow to the largest text met; after a big one (a restore's INSERT), the next
    // text of an application's size lets them go.
    constexpr std::size_t big_text = 1u << 20;
    if (text.size() < big_text && shape.key.capacity() > big_text) shape = sql::LiteralShape{};
    sql::literal_shape(text, shape);
    auto& shape_plans = InsertShapeCache::of_this_thread();
    const bool shape_path = shape.ok && !settings_unconfirmed_ && !changes_settings &&
                            settings_.standard_conforming_strings &&
                            is_utf8(settings_.client_encoding) &&
                            is_utf8(settings_.server_encoding);
    const std::optional<InsertShapePlan>* known =
        shape_path ? shape_plans.find(*registry_, shape.key) : nullptr;
    if (known && *known && passes_by_shape(**known, text, shape)) return {};

    // With standard_conforming_strings off, libpg_query reads a masked copy (same ranges: every
    // piece is cut from `text`, and every pass over it lexes with the session's setting); the
    // masked strings are decoded again from `text` wherever their value counts (resolve).
    const auto masked =
        settings_.standard_conforming_strings ? std::nullopt : sql::mask_backslash_strings(text);
    auto analysis = masked ? sql::analyse_postgres(*masked) : sql::analyse_postgres(text, shape);
    if (analysis.error) return {};  // the server answers the syntax error
    // libpg_query reads strings as with standard_conforming_strings on; with it off the server
    // may refuse the whole string while parsing it (U&'' literals): its error, unrewritten.
    if (!settings_.standard_conforming_strings && !guard::string_literals_decode(text, false))
        return {};

    std::string rewritten;
    std::vector<ReplyUse> plan;
    std::vector<std::uint32_t> tags;
    std::size_t copied = 0;  // bytes of `text` already in `rewritten`
    bool changed = false;
    // Which bytes of `rewritten` are the client's, to move error positions back.
    std::vector<RewriteSegment> segments;
    // A statement of the proxy's (or none: the client's own, already copied) and how the server's
    // replies to that statement are to be used.
    auto emit = [&](std::string_view sql, ReplyUse use, std::uint32_t tag) {
        rewritten += sql;
        plan.push_back(use);
        tags.push_back(tag);
    };
    auto copy_until = [&](std::size_t end) {
        if (end > copied) {
            segments.push_back({copied, rewritten.size(), end - copied});
            rewritten.append(text.substr(copied, end - copied));
            copied = end;
        }
    };
    for (const auto& st : analysis.statements) {
        // A change earlier in the string: this statement runs after it.
        if (changes_settings && &st != &analysis.statements.front() &&
            changes_read_settings((&st - 1)->trimmed.text(text)))
            setting_changed();
        notice_schema_change(st);
        auto refusal = two_phase_refusal(st);
        if (!refusal && executes && st.kind() == sql::StatementKind::other)
            refusal = execute_refusal(st.trimmed.text(text));
        if (refusal) {
            copy_until(st.trimmed.offset);
            emit(refusal->sql, ReplyUse::verdict, refusal->tag);  // in place of the statement
            copied = st.trimmed.end();
            changed = true;
            continue;
        }
        auto write = plan_statement(st, text);
        if (masked && write && st.kind() == sql::StatementKind::copy &&
            (write->kind == WritePlan::Kind::copy || write->kind == WritePlan::Kind::refuse))
            *write = masked_copy_refusal(*write);  // its options' strings were masked
        // A late INSERT that skips duplicates must claim its keys, and wait for the ones another
        // transaction is writing, before it writes: among other statements of one string the
        // proxy cannot wait (the rest is sent with it), and a key a plain INSERT holds
        // uncommitted would be written twice.
        // Likewise a statement run as written and scanned after (a MERGE, a WITH list writing
        // the table): its check finds no row of a key another transaction holds uncommitted.
        if (write && write->kind == WritePlan::Kind::late_insert &&
            (write->late_skip || write->late_scan) && analysis.statements.size() != 1) {
            const auto& cfg = write->guard->config();
            const std::string what =
                write->late_skip ? "an INSERT that skips duplicates and whose keys come late"
                                 : write->scan_form;
            write->kind = WritePlan::Kind::refuse;
            write->refusal = "uniqguard: " + what +
                             ", in a query string with other statements, on table \"" + cfg.table +
                             "\" is not enforced by guard \"" + cfg.name +
                             "\" yet; the statement was refused (send it as a query of its own)";
        }
        if (write && write->kind == WritePlan::Kind::copy) {
            const auto& cfg = write->guard->config();
            std::string why;
            if (analysis.statements.size() != 1)
                why = "COPY FROM STDIN in a query string with other statements";
            else if (!is_utf8(settings_.client_encoding) || !is_utf8(settings_.server_encoding))
                why = "COPY FROM STDIN under a client_encoding or server_encoding other than UTF8";
            else if (settings_unconfirmed_)
                why =
                    "COPY FROM STDIN sent before the server confirmed a change of "
                    "standard_conforming_strings, client_encoding, TimeZone or DateStyle";
            if (why.empty()) return start_copy(*write, text, out, tracker, in_transaction);
            write->kind = WritePlan::Kind::refuse;
            write->refusal = "uniqguard: " + why + " on table \"" + cfg.table +
                             "\" is not enforced by guard \"" + cfg.name +
                             "\" yet; the statement was refused";
        }
        // The shape's plan, or that it has none; not while its guard loads (the shape may
        // qualify once it is ready).
        if (shape_path && !known && analysis.statements.size() == 1 &&
            (!write || write->kind != WritePlan::Kind::unready))
            shape_plans.store(*registry_, shape.key,
                              write ? make_insert_shape_plan(*write, shape) : std::nullopt);
        Decision d = write ? decide(*write, nullptr, {}, in_transaction) : Decision{};
        using K = Decision::Kind;
        // Nothing of this Query is sent yet: the whole text is decided again after the wait.
        if (d.kind == K::wait) return {.wait = true};
        // A late INSERT alone in its Query goes in two parts, so that it can wait for keys
        // other sessions hold before its check; among other statements, in one Query string
        // (docs/guard.md says what that misses).
        if (d.kind == K::late && analysis.statements.size() == 1)
            return start_late(d, *write->guard, text, st.trimmed, out, tracker);
        switch (d.kind) {
            case K::pass:
                emit({}, ReplyUse::forward, 0);
                break;
            case K::check_after:
            case K::probe_after:
                if (!d.pre.empty()) {
                    copy_until(st.trimmed.offset);
                    emit(d.pre, ReplyUse::drop, 0);
                    rewritten += ";\n";
                }
                // After the statement, on a line of its own: the statement may end in a comment.
                copy_until(st.range.end());
                emit("\n;", d.kind == K::check_after ? ReplyUse::hold : ReplyUse::forward, 0);
                if (!d.learn.empty()) {
                    emit(d.learn, ReplyUse::capture, d.learn_tag);
                    rewritten += ";";
                }
                emit(d.sql, d.kind == K::check_after ? ReplyUse::verdict : ReplyUse::capture,
                     d.tag);
                changed = true;
                break;
            case K::check_before:
            case K::probe_before:
                copy_until(st.trimmed.offset);
                if (!d.probe.empty()) {
                    emit(d.probe, ReplyUse::capture, d.probe_tag);
                    rewritten += ";\n";
                }
                emit(d.sql, d.kind == K::check_before ? ReplyUse::verdict : ReplyUse::capture,
                     d.tag);
                rewritten += ";\n";
                emit({}, ReplyUse::forward, 0);  // the client's statement, copied next
                changed = true;
                break;
            case K::refuse:
                copy_until(st.trimmed.offset);
                emit(d.sql, ReplyUse::verdict, d.tag);  // in place of the statement
                copied = st.trimmed.end();
                changed = true;
                break;
            case K::replace:
                copy_until(st.trimmed.offset);
                if (!d.probe.empty()) {
                    emit(d.probe, ReplyUse::capture, d.probe_tag);
                    rewritten += ";\n";
                }
                for (const auto& c : d.copies)
                    segments.push_back({c.origin, rewritten.size() + c.at, c.length});
                if (d.statement_prefix)
                    segments.push_back({st.trimmed.offset, rewritten.size(), d.sql.size()});
                // In place of the statement; held when a refusal follows (`after`).
                emit(d.sql, d.after.empty() ? ReplyUse::forward : ReplyUse::hold, 0);
                copied = st.trimmed.end();
                if (!d.learn.empty()) {
                    copy_until(st.range.end());
                    rewritten += "\n;";
                    emit(d.learn, ReplyUse::capture, d.learn_tag);
                }
                if (!d.after.empty()) {
                    copy_until(st.range.end());
                    rewritten += "\n;";
                    emit(d.after, ReplyUse::verdict, d.tag);
                }
                changed = true;
                break;
            case K::late:
                // pre; WITH uniqguard_ins AS (<the statement> RETURNING keys) INSERT INTO the
                // keys table ...; the keys; the check; the keys table emptied. The statement's
                // own text is copied, so its error positions move back.
                copy_until(st.trimmed.offset);
                emit(d.pre, ReplyUse::drop, 0);
                rewritten += ";\n";
                if (d.wrap_at > 0) {
                    // The client's WITH list first, then the prefix and the rest of its INSERT.
                    segments.push_back({copied, rewritten.size(), d.wrap_at});
                    rewritten.append(text.substr(copied, d.wrap_at));
                    copied += d.wrap_at;
                }
                rewritten += d.wrap_prefix;
                segments.push_back({copied, rewritten.size(), st.trimmed.end() - copied});
                rewritten.append(text.substr(copied, st.trimmed.end() - copied));
                copied = st.trimmed.end();
                if (d.rows_returned)
                    emit(d.wrap_suffix,
                         d.late_update ? ReplyUse::update_rows : ReplyUse::insert_rows,
                         d.extra_columns);
                else
                    emit(d.wrap_suffix, d.late_update ? ReplyUse::hold_update : ReplyUse::hold, 0);
                rewritten += ";\n";
                // (Never one that skips duplicates: alone in its Query only, see above.)
                emit(d.learn, ReplyUse::capture, d.learn_tag);
                rewritten += ";\n";
                emit(d.sql, ReplyUse::verdict, d.tag);
                rewritten += ";\n";
                emit(d.after, ReplyUse::drop, 0);
                changed = true;
                break;
            case K::upsert:
                // In place of the statement: the proxy's (its replies held), the keys the key
                // set learns from the server, the check.
                copy_until(st.trimmed.offset);
                if (d.check_first) {
                    emit(d.pre, ReplyUse::verdict, d.tag);
                    rewritten += ";\n";
                }
                for (const auto& c : d.copies)
                    segments.push_back({c.origin, rewritten.size() + c.at, c.length});
                emit(d.sql, d.rows_returned ? ReplyUse::insert_rows : ReplyUse::insert_count,
                     d.rows_returned ? 1 : 0);
                copied = st.trimmed.end();
                copy_until(st.range.end());
                rewritten += "\n;";
                if (!d.learn.empty()) {
                    emit(d.learn, ReplyUse::capture, d.learn_tag);
                    rewritten += ";";
                }
                if (!d.check_first) {
                    emit(d.pre, ReplyUse::verdict, d.tag);
                } else {
                    // The held replies are released by a verdict: an empty statement's.
                    emit("SELECT", ReplyUse::verdict, 0);
                }
                changed = true;
                break;
            case K::wait:
                break;  // returned above
        }
    }
    if (!changed) return {};
    copy_until(text.size());
    spdlog::trace("guard: query rewritten to: {}", rewritten);
    pg::append_query(out, rewritten);
    const std::uint32_t id = next_rewrite_++ == 0 ? next_rewrite_++ : next_rewrite_ - 1;
    rewrites_.insert_or_assign(
        id, Rewrite{std::string(text), std::move(rewritten), std::move(segments)});
    tracker.sent_query(plan, tags, id);
    return {.replaced = true};
}

namespace {
// The proxy's statement in the extended protocol: closed first (a failed check leaves it
// behind), run under its own portal, closed again.
void append_proxy_statement(std::string& out, pg::ReplyTracker& tracker, std::string_view sql,
                            ReplyUse use, std::uint32_t tag,
                            const std::vector<std::int16_t>& result_formats = {},
                            std::uint32_t rewrite = 0, bool describe = false) {
    pg::append_close(out, 'S', check_name);
    tracker.sent('C', ReplyUse::drop);
    pg::append_parse(out, check_name, sql);
    tracker.sent('P', ReplyUse::drop, 0, rewrite);
    pg::append_bind(out, check_name, check_name, result_formats);
    tracker.sent('B', ReplyUse::drop, 0, rewrite);
    if (describe) {
        // The RowDescription a simple Query would have had (an Execute sends none).
        pg::MessageWriter(out)
            .begin(static_cast<char>(pg::FrontendCode::describe))
            .int8('P')
            .cstring(check_name)
            .finish();
        tracker.sent('D', use == ReplyUse::hold ? ReplyUse::hold_described : use, tag);
    }
    pg::append_execute(out, check_name);
    tracker.sent('E', use, tag, rewrite);
    pg::append_close(out, 'P', check_name);
    tracker.sent('C', ReplyUse::drop);
    pg::append_close(out, 'S', check_name);
    tracker.sent('C', ReplyUse::drop);
}

// `sql` with the target of its ON CONFLICT clause (`(a, b) [WHERE …]` or `ON CONSTRAINT c`)
// replaced by `replacement` (empty: none). nullopt when the text has no such clause, or when
// `keep_parameters` and the target holds a parameter (it would be lost from the statement).
std::optional<std::string> with_conflict_target(std::string_view sql, std::string_view replacement,
                                                sql::LexOptions lex, bool keep_parameters) {
    std::vector<sql::Token> tokens;
    if (!sql::lex_postgres(sql, tokens, lex)) return std::nullopt;
    for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
        if (!sql::is_word(sql, tokens[i], "on") || !sql::is_word(sql, tokens[i + 1], "conflict"))
            continue;
        int depth = 0;
        for (std::size_t j = i + 2; j < tokens.size(); ++j) {
            if (keep_parameters && tokens[j].kind == sql::TokenKind::parameter) return std::nullopt;
            if (sql::is_symbol(sql, tokens[j], "(")) ++depth;
            if (sql::is_symbol(sql, tokens[j], ")")) --depth;
            if (depth == 0 && sql::is_word(sql, tokens[j], "do")) {
                std::string out(sql.substr(0, tokens[i + 1].end()));
                out += replacement;
                out += " ";
                out += sql.substr(tokens[j].offset);
                return out;
            }
        }
        return std::nullopt;
    }
    return std::nullopt;
}

// `sql` without the target of its ON CONFLICT clause (`ON CONFLICT (a, b) DO` and `ON CONFLICT
// ON CONSTRAINT c DO` become `ON CONFLICT DO`): a target naming the guard's key has no index
// for the server to infer, and the server refuses it already at Parse. The statement is only
// described and bound with this text; its executions are the proxy's rewrites.
std::optional<std::string> without_conflict_target(std::string_view sql, sql::LexOptions lex) {
    return with_conflict_target(sql, "", lex, false);
}

// An `INSERT … ON CONFLICT (target) DO UPDATE …` with its conflict target replaced by
// `ON CONSTRAINT constraint`: a statement the server can parse without an index on the target,
// with the same parameters and the same result columns. nullopt when the target holds a
// parameter or the text is not of that shape.
std::optional<std::string> with_conflict_constraint(std::string_view sql,
                                                    std::string_view constraint,
                                                    sql::LexOptions lex) {
    return with_conflict_target(sql, " ON CONSTRAINT " + std::string(constraint), lex, true);
}
}  // namespace

PgGuard::Outcome PgGuard::waiting(bool execute, std::string& out, pg::ReplyTracker& tracker) {
    Outcome o{.wait = true};
    if (timeouts_asked_ || !wait_guard_) return o;
    if (last_status_ == pg::TransactionStatus::failed || (!execute && !tracker.idle())) return o;
    timeouts_asked_ = true;
    spdlog::debug(
        "guard {}: a write waits for another session's key; asking for lock_timeout and "
        "statement_timeout",
        wait_guard_->config().name);
    // pg_settings gives each value in the GUC's unit, milliseconds, whatever the SET said.
    PendingCheck c{.guard = wait_guard_, .lock_timeout = true};
    append_proxy_statement(out, tracker,
                           "SELECT (SELECT setting FROM pg_settings WHERE name = 'lock_timeout'), "
                           "(SELECT setting FROM pg_settings WHERE name = 'statement_timeout')",
                           ReplyUse::capture, remember(std::move(c)));
    // The server keeps its replies until a Sync or a Flush; a Flush has no reply of its own.
    pg::MessageWriter(out).begin(static_cast<char>(pg::FrontendCode::flush)).finish();
    return o;
}

PgGuard::Outcome PgGuard::on_parse(util::Bytes body, std::string& out, pg::ReplyTracker& tracker) {
    auto p = pg::decode_parse(body);
    if (!p) return {};
    const std::string name(p->statement);
    // Read once: it serves the setting changes here and the savepoint commands below.
    auto command = read_transaction_command(p->sql);
    // A BEGIN's statement and the portal bound to it next (executes_begin).
    if (command && command->kind == TransactionCommand::Kind::begin)
        begin_statement_ = name;
    else if (begin_statement_ && *begin_statement_ == name)
        begin_statement_.reset();
    const bool ends_transaction =
        (command && (command->kind == TransactionCommand::Kind::end ||
                     command->kind == TransactionCommand::Kind::rollback_to)) ||
        starts_with_prepare_transaction(p->sql);
    // (A name in use keeps its old statement: only the unnamed one, or one perhaps
    // deallocated, is forgotten here.)
    if (may_change_read_settings(p->sql)) {
        setting_statements_[name] = {};
    } else if (ends_transaction) {
        setting_statements_[name] = {.ends_transaction = true};
    } else if (!setting_statements_.empty()) {
        if (auto it = setting_statements_.find(name);
            it != setting_statements_.end() && (name.empty() || it->second.maybe_gone))
            setting_statements_.erase(it);
    }
    if ((!prepared_.empty() || !unguarded_.empty()) && mentions_deallocation(p->sql)) {
        for (auto& [n, prepared] : prepared_) prepared->maybe_gone = true;
        unguarded_.on_deallocation_seen();
    }
    // A Parse of a name still in use fails on the server (42P05) and leaves the old statement:
    // nothing changes here either. Only the unnamed statement, or a name perhaps deallocated,
    // is replaced; from here on neither map keeps the name's old entry.
    if (!name.empty()) {
        if (auto it = prepared_.find(name); it != prepared_.end() && !it->second->maybe_gone)
            return {};
        if (unguarded_.holds_live(name)) return {};
    }
    prepared_.erase(name);
    unguarded_.on_close_statement(name);
    // A statement the guard does not keep: its text only (named ones), for a reload.
    auto keep_text = [&] {
        unguarded_.on_parse(name, p->sql, std::move(p->parameter_types));
        return Outcome{};
    };
    // Savepoint commands only: BEGIN and COMMIT change nothing the ReadyForQuery after them
    // does not say, and are parsed often (an unnamed statement per transaction).
    if (command && command->kind != TransactionCommand::Kind::begin &&
        command->kind != TransactionCommand::Kind::end) {
        auto prepared = std::make_shared<Prepared>();
        prepared->transaction = std::move(command);
        prepared_.emplace(name, std::move(prepared));
        return {};
    }
    if (starts_with_prepare_transaction(p->sql)) {
        // Kept so that its Execute can be refused after guarded writes (two_phase_refusal).
        auto prepared = std::make_shared<Prepared>();
        prepared->sql = std::string(p->sql);
        auto analysis = sql::analyse_postgres(prepared->sql);
        if (analysis.error || analysis.statements.size() != 1 ||
            !is_prepare_transaction(analysis.statements[0]))
            return keep_text();
        prepared->statement = std::move(analysis.statements[0]);
        prepared_.emplace(name, std::move(prepared));
        return {};
    }
    if (!prepared_.empty() && util::contains_ignoring_case(p->sql, "execute")) {
        // A Parse of `EXECUTE name` of a statement prepared by a Parse (execute_refusal):
        // refused in place of the Parse, which the server then skips to Sync after, as after
        // its own failed Parse.
        auto analysis = sql::analyse_postgres(p->sql);
        if (!analysis.error && analysis.statements.size() == 1 &&
            analysis.statements[0].kind() == sql::StatementKind::other)
            if (auto refusal = execute_refusal(analysis.statements[0].trimmed.text(p->sql))) {
                append_proxy_statement(out, tracker, refusal->sql, ReplyUse::verdict, refusal->tag);
                return {.replaced = true};
            }
    }
    // (An EXECUTE names no guarded table: plan_sql_level plans it at each Execute, as for a
    // MERGE, once its name is kept from a PREPARE, which may come after this Parse; psycopg 3
    // prepares a query it has run 5 times. Only a text that begins so is parsed for it: not
    // every one holding the word, `executed_at`, at each Parse.)
    if (!registry_->may_mention(p->sql) && !starts_with_execute_or_explain(p->sql))
        return keep_text();
    auto prepared = std::make_shared<Prepared>();
    prepared->sql = std::string(p->sql);
    const auto masked = settings_.standard_conforming_strings
                            ? std::nullopt
                            : sql::mask_backslash_strings(prepared->sql);
    prepared->masked_strings = masked.has_value();
    if (!settings_unconfirmed_) prepared->parse_settings = settings_;
    auto analysis = sql::analyse_postgres(masked ? std::string_view(*masked) : prepared->sql);
    if (!analysis.error && analysis.statements.size() == 1)
        notice_schema_change(analysis.statements[0]);
    if (analysis.error || analysis.statements.size() != 1 ||
        (!settings_.standard_conforming_strings &&
         !guard::string_literals_decode(prepared->sql, false))) {  // the server refuses it
        return keep_text();
    }
    // A statement of the guarded table's writes, or one that may be: the plan is made at each
    // Execute (the guard may become ready meanwhile).
    auto plan = plan_statement(analysis.statements[0], prepared->sql);
    if (!plan) {
        if (is_sql_execute(analysis.statements[0])) {
            // Kept, its plan made at each Execute (a review found one parsed before its name
            // was kept run unchecked ever after).
            prepared->statement = std::move(analysis.statements[0]);
            prepared->parameter_types = std::move(p->parameter_types);
            prepared_[name] = std::move(prepared);
            return {};
        }
        return keep_text();
    }
    // The client's Parse with another text (its replies are the client's).
    auto send_parse_of = [&](const std::string& text) {
        pg::MessageWriter w(out);
        w.begin(static_cast<char>(pg::FrontendCode::parse)).cstring(name).cstring(text);
        w.int16(static_cast<std::uint16_t>(p->parameter_types.size()));
        for (auto oid : p->parameter_types) w.int32(oid);
        w.finish();
        tracker.sent('P', ReplyUse::forward);
    };
    if (plan->kind == WritePlan::Kind::upsert && plan->refuse_at_parse &&
        plan->guard->config().action != config::GuardAction::log &&
        !plan->guard->table().conflict_constraint.empty()) {
        // An upsert on the guard's key: the server would refuse its Parse (no index to infer
        // from the target). It parses it naming another constraint of the table instead, which
        // gives the same parameters and result columns for the client's Describe; each Execute
        // is answered by the proxy's own upsert (decide), never by this statement.
        if (auto sql = with_conflict_constraint(
                prepared->sql, plan->guard->table().conflict_constraint, lex_options())) {
            send_parse_of(*sql);
            prepared->names_other_constraint = true;
            prepared->statement = std::move(analysis.statements[0]);
            prepared->parameter_types = std::move(p->parameter_types);
            prepared_[name] = std::move(prepared);
            return {.replaced = true};
        }
    }
    if ((plan->kind == WritePlan::Kind::refuse || plan->kind == WritePlan::Kind::upsert) &&
        plan->refuse_at_parse) {
        // The server would refuse this Parse itself (no index for the guard's key); the guard's
        // refusal answers it instead. The server raises it, so it skips to Sync as after a
        // failed Parse, and no statement of that name is made. (A prepared upsert on a table
        // without another constraint to name, or under log, is refused here too.)
        WritePlan refused = *plan;
        refused.kind = WritePlan::Kind::refuse;
        Decision d = decide(refused, nullptr, {}, false);
        if (d.kind == Decision::Kind::refuse) {
            append_proxy_statement(out, tracker, d.sql, ReplyUse::verdict, d.tag);
            return {.replaced = true};
        }
    }
    Outcome outcome;
    if (plan->must_rewrite) {
        if (auto sql = without_conflict_target(prepared->sql, lex_options())) {
            send_parse_of(*sql);
            outcome.replaced = true;
        }
    }
    prepared->statement = std::move(analysis.statements[0]);
    prepared->parameter_types = std::move(p->parameter_types);
    prepared_[name] = std::move(prepared);
    return outcome;
}

void PgGuard::on_bind(util::Bytes body) {
    // Only the two names are read first: most Binds are of statements the guard has no
    // business with, and need no decoding or copy.
    const auto chars = util::as_chars(body);
    const auto portal_end = chars.find('\0');
    if (portal_end == std::string_view::npos) return;
    const auto statement_end = chars.find('\0', portal_end + 1);
    if (statement_end == std::string_view::npos) return;
    const std::string_view portal_view = chars.substr(0, portal_end);
    const std::string_view statement = chars.substr(portal_end + 1, statement_end - portal_end - 1);
    if (begin_statement_ && *begin_statement_ == statement)
        begin_portal_ = std::string(portal_view);
    else if (begin_portal_ && *begin_portal_ == portal_view)
        begin_portal_.reset();
    if (!setting_statements_.empty())
        if (auto it = setting_statements_.find(std::string(statement));
            it != setting_statements_.end() &&
            (!it->second.ends_transaction || settings_changed_in_transaction_))
            setting_changed();
    if (!redirects_.empty()) redirects_.erase(std::string(portal_view));
    auto it = prepared_.find(std::string(statement));
    if (it == prepared_.end()) {
        if (!portals_.empty()) portals_.erase(std::string(portal_view));
        if (!upsert_portals_.empty()) upsert_portals_.erase(std::string(portal_view));
        return;
    }
    const std::string portal_name(portal_view);
    // The portal object is re-used when nothing else holds it (the usual unnamed portal).
    auto& slot = portals_[portal_name];
    if (!slot || slot.use_count() != 1) slot = std::make_shared<Portal>();
    slot->body.assign(util::as_chars(body));
    slot->late_ran = false;
    // Decoded into the portal's own Bind: its vectors keep their memory from the last one.
    if (!pg::decode_bind_into(util::as_bytes(slot->body), slot->bind)) {
        portals_.erase(portal_name);  // malformed: the server refuses it
        return;
    }
    slot->prepared = it->second;
    if (it->second->names_other_constraint) {
        if (upsert_portals_.size() >= 1024) upsert_portals_.clear();  // bounded, see on_execute
        upsert_portals_.insert(portal_name);
    } else if (!upsert_portals_.empty()) {
        upsert_portals_.erase(portal_name);
    }
}

void PgGuard::on_close(util::Bytes body) {
    auto c = pg::decode_close(body);
    if (!c) return;
    if (c->kind == 'S') {
        prepared_.erase(std::string(c->name));
        unguarded_.on_close_statement(c->name);
        if (!setting_statements_.empty()) setting_statements_.erase(std::string(c->name));
    } else {
        portals_.erase(std::string(c->name));
        upsert_portals_.erase(std::string(c->name));
    }
}

std::optional<std::string> PgGuard::parse_settings_moved(const Prepared& prepared) const {
    // The server read the statement's literals at its Parse, the proxy reads them now: they
    // may differ under another client_encoding (bytes beyond ASCII), standard_conforming_strings
    // (a backslash), TimeZone or DateStyle (a string literal with a digit: a date or a time).
    const std::string& sql = prepared.sql;
    const bool non_ascii = std::any_of(
        sql.begin(), sql.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
    const bool backslash = sql.find('\\') != std::string::npos;
    const auto& then = prepared.parse_settings;
    if (!then) {
        if (non_ascii || backslash ||
            has_digit_in_string(sql, settings_.standard_conforming_strings))
            return std::string(
                "settings the proxy does not know (before the guard existed, or "
                "while a change of them was unconfirmed)");
        return std::nullopt;
    }
    if (non_ascii && then->client_encoding != settings_.client_encoding)
        return "client_encoding " + then->client_encoding;
    if (backslash && then->standard_conforming_strings != settings_.standard_conforming_strings)
        return std::string("standard_conforming_strings ") +
               (then->standard_conforming_strings ? "on" : "off");
    if ((then->time_zone != settings_.time_zone || then->date_style != settings_.date_style) &&
        has_digit_in_string(sql, then->standard_conforming_strings))
        return "TimeZone " + then->time_zone + " and DateStyle " + then->date_style;
    return std::nullopt;
}

std::vector<std::uint32_t> PgGuard::execute_types(const Prepared& prepared,
                                                  const WritePlan& plan) const {
    const auto& table = plan.guard->table();
    // An INSERT's bare `$n` values, typed by their columns (no column list: the table's order).
    std::vector<std::pair<std::size_t, std::uint32_t>> bare_values;
    std::string_view qualifier = table.name;
    if (const auto* ins = std::get_if<sql::InsertStatement>(&prepared.statement.body)) {
        if (!ins->alias.empty()) qualifier = ins->alias;
        for (const auto& row : ins->rows)
            for (std::size_t c = 0; c < row.size(); ++c) {
                const auto& v = row[c];
                if (v.kind != sql::ValueKind::parameter || !v.casts.empty()) continue;
                const std::string* name = nullptr;
                if (ins->columns.empty()) {
                    if (c < table.columns.size()) name = &table.columns[c].name;
                } else if (c < ins->columns.size()) {
                    name = &ins->columns[c];
                }
                for (const auto& col : table.columns)
                    if (name && col.name == *name)
                        bare_values.emplace_back(
                            v.literal.known() ? v.literal.offset : v.range.offset, col.type_oid);
            }
    } else if (!plan.alias.empty()) {
        qualifier = plan.alias;
    }
    return with_repeated_parameter_types(
        prepared.sql, prepared.parameter_types, bare_values,
        {.standard_conforming_strings = settings_.standard_conforming_strings,
         .table = &table,
         .qualifier = qualifier,
         .target_name = &plan.target_name});
}

PgGuard::Outcome PgGuard::on_execute(util::Bytes body, util::Bytes raw, std::string& out,
                                     pg::ReplyTracker& tracker, bool in_transaction) {
    auto e = pg::decode_execute(body);
    if (!e) return {};
    // The client goes on fetching from a portal whose statement the proxy replaced: the rows
    // come from the proxy's portal, which answered the first Execute.
    if (auto r = redirects_.find(std::string(e->portal)); r != redirects_.end()) {
        pg::MessageWriter(out)
            .begin(static_cast<char>(pg::FrontendCode::execute))
            .cstring(r->second)
            .int32(e->max_rows)
            .finish();
        tracker.sent('E', ReplyUse::forward);
        return {.replaced = true};
    }
    auto it = portals_.find(std::string(e->portal));
    if (it == portals_.end()) {
        // A portal of an upsert parsed naming another constraint, forgotten by the bounded map:
        // its statement must not run as the server holds it.
        if (!upsert_portals_.contains(std::string(e->portal))) return {};
        append_proxy_statement(out, tracker, upsert_statement_refusal(), ReplyUse::verdict, 0);
        return {.replaced = true};
    }
    const auto portal = it->second;
    const auto& prepared = *portal->prepared;
    if (prepared.transaction) {
        // Followed when sent: after an error in the same Sync the server skips it.
        if (prepared.transaction->kind != TransactionCommand::Kind::begin &&
            prepared.transaction->kind != TransactionCommand::Kind::end)
            savepoints_certain_ = false;
        claims_.on_transaction_command(*prepared.transaction);
        return {};
    }
    if (auto refusal = two_phase_refusal(prepared.statement)) {
        // The client's Execute is not sent: the refusal is its answer.
        append_proxy_statement(out, tracker, refusal->sql, ReplyUse::verdict, refusal->tag);
        return {.replaced = true};
    }
    std::optional<WritePlan> fresh;
    const WritePlan* write = prepared.plan ? &*prepared.plan : nullptr;
    if (!write) {
        fresh = plan_statement(prepared.statement, prepared.sql);
        if (!fresh && prepared.names_other_constraint) {
            // Its guard is gone (a reload): the statement the server holds must not run.
            append_proxy_statement(out, tracker, upsert_statement_refusal(), ReplyUse::verdict, 0);
            return {.replaced = true};
        }
        if (!fresh) return {};
        // (An EXECUTE's plan depends on the bodies kept under its name, which may grow.)
        if (fresh->kind != WritePlan::Kind::unready && !is_sql_execute(prepared.statement)) {
            prepared.plan = std::move(fresh);
            write = &*prepared.plan;
        } else {
            write = &*fresh;
        }
    }
    if (prepared.masked_strings && prepared.statement.kind() == sql::StatementKind::copy &&
        (write->kind == WritePlan::Kind::copy || write->kind == WritePlan::Kind::refuse)) {
        fresh = masked_copy_refusal(*write);
        write = &*fresh;
    }
    if (auto moved = parse_settings_moved(prepared);
        moved && write->kind != WritePlan::Kind::unready) {
        fresh = *write;
        fresh->kind = WritePlan::Kind::refuse;
        fresh->refusal = "uniqguard: a statement prepared under " + *moved +
                         ", writing to table \"" + write->guard->config().table +
                         "\", cannot be checked by guard \"" + write->guard->config().name +
                         "\"; prepare it again";
        write = &*fresh;
    }
    if (write->kind == WritePlan::Kind::copy && !settings_unconfirmed_ &&
        is_utf8(settings_.client_encoding) && is_utf8(settings_.server_encoding)) {
        // The client's Execute goes as it is; the server ignores the client's Sync after it
        // while reading the data, and its Sync after CopyDone follows the proxy's check.
        begin_copy(*write, prepared.sql, in_transaction, false);
        return {};
    }
    if (!prepared.execute_types && write->kind != WritePlan::Kind::unready)
        prepared.execute_types = execute_types(prepared, *write);
    using K = Decision::Kind;
    Decision d;
    const bool late_rows = write->late_returning || (write->late_scan && write->scan_rows);
    if (write->kind == WritePlan::Kind::late_insert &&
        (portal->late_ran || (late_rows && e->max_rows != 0))) {
        // The proxy's statement runs the write whole, once: a row limit (the server would
        // suspend the portal with rows left) or a second Execute is not followed.
        const std::string what(write->late_command());
        if (portal->late_ran && !late_rows)
            d = refused_outright(*write->guard,
                                 "portal \"" + std::string(e->portal) + "\" cannot be run",
                                 "55000");  // the server's answer
        else
            d = refused_outright(
                *write->guard, "uniqguard: " + what + " on table \"" +
                                   write->guard->config().table + "\" whose keys come late, with " +
                                   (portal->late_ran ? "a second Execute of its portal"
                                                     : "a row limit on its Execute") +
                                   ", is not enforced by guard \"" + write->guard->config().name +
                                   "\" yet; the statement was refused");
    } else if (prepared.names_other_constraint && e->max_rows != 0) {
        d = refused_outright(*write->guard,
                             "uniqguard: INSERT ... ON CONFLICT DO UPDATE on table \"" +
                                 write->guard->config().table +
                                 "\" with a row limit on its Execute is not enforced by guard \"" +
                                 write->guard->config().name + "\" yet; the statement was refused");
    } else {
        d = decide(*write, &portal->bind,
                   prepared.execute_types ? *prepared.execute_types : prepared.parameter_types,
                   in_transaction);
    }
    if (prepared.names_other_constraint &&
        !(d.kind == K::upsert || d.kind == K::refuse || d.kind == K::wait)) {
        // The server's statement is the client's upsert naming another constraint: it must
        // never run as it is (the guard went unready since its Parse: forwarded otherwise).
        d = refused_outright(*write->guard,
                             "uniqguard: INSERT ... ON CONFLICT DO UPDATE on table \"" +
                                 write->guard->config().table + "\" cannot be checked by guard \"" +
                                 write->guard->config().name + "\" now; prepare it again");
    }
    if (d.kind == K::pass) return {};
    if (d.kind == K::wait) return {.wait = true};

    auto append_statement = [&](const std::string& sql, ReplyUse use, std::uint32_t tag,
                                const std::vector<std::int16_t>& result_formats) {
        append_proxy_statement(out, tracker, sql, use, tag, result_formats);
    };
    auto append_check = [&](ReplyUse use) { append_statement(d.sql, use, d.tag, {}); };
    auto append_client_execute = [&](ReplyUse use) {
        out.append(util::as_chars(raw));
        tracker.sent('E', use);
    };
    switch (d.kind) {
        case K::check_after:
            if (!d.pre.empty()) append_statement(d.pre, ReplyUse::drop, 0, {});
            append_client_execute(ReplyUse::hold);
            if (!d.learn.empty()) append_statement(d.learn, ReplyUse::capture, d.learn_tag, {});
            append_check(ReplyUse::verdict);
            break;
        case K::probe_after:
            if (!d.pre.empty()) append_statement(d.pre, ReplyUse::drop, 0, {});
            append_client_execute(ReplyUse::forward);
            if (!d.learn.empty()) append_statement(d.learn, ReplyUse::capture, d.learn_tag, {});
            append_check(ReplyUse::capture);
            break;
        case K::check_before:
            if (!d.probe.empty()) append_statement(d.probe, ReplyUse::capture, d.probe_tag, {});
            append_check(ReplyUse::verdict);
            append_client_execute(ReplyUse::forward);
            break;
        case K::probe_before:
            if (!d.probe.empty()) append_statement(d.probe, ReplyUse::capture, d.probe_tag, {});
            append_check(ReplyUse::capture);
            append_client_execute(ReplyUse::forward);
            break;
        case K::refuse:
            // The client's Execute is not sent: the refusal is its answer.
            append_check(ReplyUse::verdict);
            break;
        case K::replace:
            // The client's Execute is not sent: the proxy's statement answers it, in the
            // result formats the client's Bind asked for.
            if (!d.probe.empty()) append_statement(d.probe, ReplyUse::capture, d.probe_tag, {});
            if (e->max_rows == 0) {
                append_statement(d.sql, ReplyUse::forward, 0, portal->bind.result_formats);
            } else {
                // A row limit: the proxy's portal stays open (it ends with the transaction, as
                // the client's would) and the client's next Executes are sent to it.
                const std::string name = "uniqguard_portal_" + std::to_string(next_portal_++);
                pg::append_close(out, 'S', check_name);
                tracker.sent('C', ReplyUse::drop);
                pg::append_parse(out, check_name, d.sql);
                tracker.sent('P', ReplyUse::drop);
                pg::append_bind(out, name, check_name, portal->bind.result_formats);
                tracker.sent('B', ReplyUse::drop);
                pg::MessageWriter(out)
                    .begin(static_cast<char>(pg::FrontendCode::execute))
                    .cstring(name)
                    .int32(e->max_rows)
                    .finish();
                tracker.sent('E', ReplyUse::forward);
                pg::append_close(out, 'S', check_name);
                tracker.sent('C', ReplyUse::drop);
                redirects_[std::string(e->portal)] = name;
            }
            if (!d.learn.empty()) append_statement(d.learn, ReplyUse::capture, d.learn_tag, {});
            break;
        case K::late:
            // The client's Execute is not sent: the proxy's statement (the INSERT with its
            // parameters written in) answers it, its CommandComplete held for the check.
            portal->late_ran = true;
            return start_late(d, *write->guard, {}, std::nullopt, out, tracker,
                              portal->bind.result_formats);
        case K::upsert: {
            // The client's Execute is not sent (its statement names another constraint,
            // on_parse): the proxy's upsert answers it, in the result formats its Bind asked
            // for, as for a simple Query (read_query), between the check and the keys learnt.
            if (d.check_first) append_statement(d.pre, ReplyUse::verdict, d.tag, {});
            // (Without RETURNING the proxy's one count column is read as text, whatever the
            // client's Bind asked of a statement without columns.)
            std::vector<std::int16_t> formats;
            if (d.rows_returned) {
                formats = portal->bind.result_formats;
                if (formats.size() > 1) formats.resize(formats.size() + 1, 0);  // the row number
            }
            append_statement(d.sql,
                             d.rows_returned ? ReplyUse::insert_rows : ReplyUse::insert_count,
                             d.rows_returned ? 1 : 0, formats);
            if (!d.learn.empty()) append_statement(d.learn, ReplyUse::capture, d.learn_tag, {});
            if (!d.check_first)
                append_statement(d.pre, ReplyUse::verdict, d.tag, {});
            else
                append_statement("SELECT", ReplyUse::verdict, 0, {});  // releases the held
            break;
        }
        case K::pass:
        case K::wait:
            break;
    }
    return {.replaced = true};
}

namespace {
void append_sync(std::string& out, pg::ReplyTracker& tracker) {
    pg::MessageWriter(out).begin(static_cast<char>(pg::FrontendCode::sync)).finish();
    tracker.sent(static_cast<char>(pg::FrontendCode::sync));
}
}  // namespace

PgGuard::Outcome PgGuard::start_late(const Decision& d, guard::GuardState& g, std::string_view text,
                                     std::optional<sql::SourceRange> statement, std::string& out,
                                     pg::ReplyTracker& tracker,
                                     const std::vector<std::int16_t>& result_formats) {
    LateResume l{.guard = &g,
                 .check = d.sql,
                 .clear = d.after,
                 .check_tag = d.tag,
                 .learn_tag = d.learn_tag,
                 .own_sync = statement.has_value(),
                 // (A Query is counted after this call; an Execute's is the next Sync's.)
                 .ready = claims_.next_ready()};
    l.committed = d.committed;
    if (!d.stage_fill.empty()) {
        // An INSERT that skips duplicates: its rows into the stage first, their keys claimed
        // (resume_late may wait for them), then the table filled from the stage.
        auto copied_into = [&](const std::string& sql,
                               const std::vector<guard::CopiedText>& copies) -> std::uint32_t {
            if (!statement) return 0;
            std::vector<RewriteSegment> segments;
            for (const auto& c : copies)
                segments.push_back({statement->offset + c.origin, c.at, c.length});
            const std::uint32_t id = next_rewrite_++ == 0 ? next_rewrite_++ : next_rewrite_ - 1;
            rewrites_.insert_or_assign(id, Rewrite{std::string(text), sql, std::move(segments)});
            return id;
        };
        l.rewrite = copied_into(d.stage_fill, d.stage_fill_copies);
        LateResume::FromStage then{.statement = d.late_text,
                                   .rows_returned = d.rows_returned,
                                   .extra_columns = d.extra_columns,
                                   .result_formats = result_formats,
                                   .describe = statement.has_value(),
                                   .rewrite = copied_into(d.late_text, d.copies),
                                   .probe = d.probe,
                                   .probe_tag = d.probe_tag};
        if (then.result_formats.size() > 1)
            then.result_formats.resize(then.result_formats.size() + d.extra_columns, 0);
        l.from_stage = std::move(then);
        append_proxy_statement(out, tracker, d.pre, ReplyUse::drop, 0);
        append_proxy_statement(out, tracker, d.stage_fill, ReplyUse::capture, d.learn_tag, {},
                               l.rewrite);
        l.watch_seq = tracker.next_sequence() - 1;
        pg::MessageWriter(out).begin(static_cast<char>(pg::FrontendCode::flush)).finish();
        late_ = std::move(l);
        return {.replaced = true, .resume = true};
    }
    std::string wrapped;
    if (statement) {
        // A simple Query's one statement, copied: its errors' positions move back. A hoisted
        // WITH list (wrap_at) is copied first, unmoved.
        const std::string_view client = statement->text(text);
        std::vector<RewriteSegment> segments;
        if (d.wrap_at > 0) segments.push_back({statement->offset, 0, d.wrap_at});
        wrapped.append(client.substr(0, d.wrap_at));
        wrapped += d.wrap_prefix;
        segments.push_back(
            {statement->offset + d.wrap_at, wrapped.size(), statement->length - d.wrap_at});
        wrapped.append(client.substr(d.wrap_at));
        const std::uint32_t id = next_rewrite_++ == 0 ? next_rewrite_++ : next_rewrite_ - 1;
        rewrites_.insert_or_assign(
            id, Rewrite{std::string(text), wrapped + d.wrap_suffix, std::move(segments)});
        l.rewrite = id;
    } else {
        wrapped.append(std::string_view(d.statement).substr(0, d.wrap_at));
        wrapped += d.wrap_prefix;
        wrapped.append(std::string_view(d.statement).substr(d.wrap_at));
    }
    wrapped += d.wrap_suffix;
    // In the unnamed transaction step the client's Query would have had: the server keeps the
    // transaction open until the Sync resume_late sends after the check.
    append_proxy_statement(out, tracker, d.pre, ReplyUse::drop, 0);
    if (d.rows_returned) {
        // With RETURNING: rows held and stripped of the key columns; in the client's result
        // formats (one per column: text for the proxy's), with a RowDescription for a Query.
        std::vector<std::int16_t> formats = result_formats;
        if (formats.size() > 1) formats.resize(formats.size() + d.extra_columns, 0);
        append_proxy_statement(out, tracker, wrapped,
                               d.late_update ? ReplyUse::update_rows : ReplyUse::insert_rows,
                               d.extra_columns, formats, l.rewrite, statement.has_value());
    } else if (d.scan_rows) {
        // Run as written: its own rows and tag, held; a Query's RowDescription from a Describe.
        append_proxy_statement(out, tracker, wrapped, ReplyUse::hold, 0, result_formats, l.rewrite,
                               statement.has_value());
    } else {
        append_proxy_statement(out, tracker, wrapped,
                               d.late_update ? ReplyUse::hold_update : ReplyUse::hold, 0, {},
                               l.rewrite);
    }
    append_proxy_statement(out, tracker, d.learn, ReplyUse::capture, d.learn_tag);
    l.watch_seq = tracker.next_sequence() - 1;
    // Their replies now, not at a Sync: a Flush has none of its own.
    pg::MessageWriter(out).begin(static_cast<char>(pg::FrontendCode::flush)).finish();
    late_ = std::move(l);
    return {.replaced = true, .resume = true};
}

PgGuard::Outcome PgGuard::resume_late(std::string& out, pg::ReplyTracker& tracker) {
    if (!late_) return {};
    auto& l = *late_;
    auto finish = [&] {
        if (l.own_sync) append_sync(out, tracker);
        late_rewrites_done_ = {l.rewrite, l.from_stage ? l.from_stage->rewrite : 0};
        late_.reset();
        // As for a message decided after a wait (on_client_message).
        interrupt_.reset();
        wait_guard_ = nullptr;
        timeouts_asked_ = false;
        return Outcome{.replaced = true};
    };
    // The statement failed, or an error before it (the server skips to Sync): nothing to
    // check; the check and the emptying, if sent, would be skipped too.
    if (!l.answered) return finish();
    // Keys read back from the rows written (not a stage's proposed rows, some of which a
    // skipping INSERT drops): their transaction's commit is the commit of rows with them, for
    // the REPEATABLE READ check of plain INSERTs (KeyClaims::committed_after).
    const bool rows_written = !l.from_stage;
    for (; l.claimed < l.keys.size(); ++l.claimed) {
        if (claim(*l.guard, l.keys[l.claimed], l.ready, rows_written)) continue;
        Decision w = wait_or_interrupt(*l.guard);
        if (w.kind == Decision::Kind::wait) return waiting(true, out, tracker);
        // The wait ended without the key (timeout, cancel, deadlock): its error in place of
        // the check, raised by the server, so the statement's rows go with the transaction.
        append_proxy_statement(out, tracker, w.sql, ReplyUse::verdict, w.tag);
        return finish();
    }
    if (l.from_stage) {
        // The table filled from the stage, now that its keys are this transaction's: its
        // replies held for the check (with RETURNING, its rows stripped of the key columns).
        const auto& f = *l.from_stage;
        if (f.rows_returned)
            append_proxy_statement(out, tracker, f.statement, ReplyUse::insert_rows,
                                   f.extra_columns, f.result_formats, f.rewrite, f.describe);
        else
            append_proxy_statement(out, tracker, f.statement, ReplyUse::hold, 0, {}, f.rewrite);
        append_proxy_statement(out, tracker, f.probe, ReplyUse::capture, f.probe_tag);
    }
    // REPEATABLE READ / SERIALIZABLE: a key another transaction committed after this one
    // began is invisible to the check's snapshot, where the index sees it (23505).
    if (l.committed.at != std::string::npos && transaction_start_ != 0) {
        std::vector<std::size_t> rows;
        for (std::size_t i = 0; i < l.keys.size() && i < l.key_rows.size(); ++i)
            if (l.guard->claims().committed_after(l.keys[i], transaction_start_))
                rows.push_back(l.key_rows[i]);
        if (!rows.empty()) l.check = guard::with_committed_rows(l.check, l.committed, rows);
    }
    append_proxy_statement(out, tracker, l.check, ReplyUse::verdict, l.check_tag);
    append_proxy_statement(out, tracker, l.clear, ReplyUse::drop, 0);
    return finish();
}

void PgGuard::begin_copy(const WritePlan& plan, std::string_view text, bool in_transaction,
                         bool own_sync) {
    writing_to(*plan.guard);
    // The COPY's rows come after the message that started it: their claims end with that
    // message's ReadyForQuery (a simple Query's: the Query is counted after this call).
    const bool claims = plan.guard->config().action != config::GuardAction::log;
    copy_ = std::make_unique<PgCopyGuard>(*plan.guard, plan, session_context(), 16u << 20,
                                          claims ? &claims_ : nullptr, claims_.next_ready());
    copy_plan_ = plan;
    copy_plan_.text = {};  // the client's buffer: gone after this message
    copy_statement_ = std::string(text);
    copy_in_transaction_ = in_transaction;
    copy_own_sync_ = own_sync;
}

PgGuard::Outcome PgGuard::start_copy(const WritePlan& plan, std::string_view text, std::string& out,
                                     pg::ReplyTracker& tracker, bool in_transaction) {
    begin_copy(plan, text, in_transaction, true);
    // The unnamed statement and portal, which the client's simple Query would have dropped
    // anyway. The server takes the first Sync while it reads the COPY data and ignores it
    // (CopyGetData); it answers it only when the COPY fails before its data (a missing table),
    // so the client always gets one ReadyForQuery. The transaction stays open after the data
    // until the Sync sent with the client's CopyDone, after the check.
    pg::append_parse(out, "", text);
    tracker.sent('P', ReplyUse::drop);
    pg::append_bind(out, "", "", {});
    tracker.sent('B', ReplyUse::drop);
    pg::append_execute(out, "");
    tracker.sent('E', ReplyUse::forward);
    append_sync(out, tracker);
    return {.replaced = true};
}

PgGuard::Outcome PgGuard::on_copy_message(char type, util::Bytes body, util::Bytes raw,
                                          std::string& out, pg::ReplyTracker& tracker) {
    if (!copy_) return {};
    const auto code = static_cast<pg::FrontendCode>(type);
    auto& g = *copy_plan_.guard;
    auto fail = [&] {
        // The server fails the COPY (57014, "COPY from stdin failed: <why>") and rolls back
        // what the COPY wrote; the client's later data is ignored by the server.
        spdlog::warn("guard {}: {}", g.config().name, copy_->error());
        pg::MessageWriter(out)
            .begin(static_cast<char>(pg::FrontendCode::copy_fail))
            .cstring(copy_->error())
            .finish();
        tracker.sent(static_cast<char>(pg::FrontendCode::copy_fail));
        if (copy_own_sync_) append_sync(out, tracker);
        copy_.reset();
        return Outcome{.replaced = true};
    };
    // action "ignore": the data goes on without the held-back rows.
    auto append_forward = [&] {
        const std::string data = copy_->take_forward();
        if (data.empty()) return;
        pg::MessageWriter(out)
            .begin(static_cast<char>(pg::FrontendCode::copy_data))
            .bytes(data)
            .finish();
    };
    const bool holding = copy_->holds_suspects();
    if (code == pg::FrontendCode::copy_data) {
        if (!copy_->on_data(body)) return fail();
        if (!holding) return {};
        append_forward();
        return {.replaced = true};
    }
    if (code == pg::FrontendCode::copy_fail) {
        out.append(util::as_chars(raw));
        tracker.sent(type);
        if (copy_own_sync_) append_sync(out, tracker);
        copy_.reset();
        return {.replaced = true};
    }
    if (!copy_->on_done()) return fail();
    if (holding) append_forward();
    auto suspects = copy_->take_suspects();
    const std::string held_rows = holding ? copy_->held_rows() : std::string();
    copy_.reset();
    const auto& cfg = g.config();
    const auto action = cfg.action;
    // The COPY's CommandComplete is held while a check or the held rows' INSERT is due; a COPY
    // the server failed has nothing to check.
    const bool check = !suspects.empty() &&
                       (action == config::GuardAction::log || tracker.set_copy_use(ReplyUse::hold));
    out.append(util::as_chars(raw));
    tracker.sent(type);
    if (check) {
        g.counters().checked.fetch_add(1, std::memory_order_relaxed);
        PendingCheck pending{.guard = &g,
                             .action = action,
                             .statement = copy_statement_,
                             .in_transaction = copy_in_transaction_,
                             .copy = true};
        std::vector<guard::KeySql> rows, unknown;
        for (auto& s : suspects) {
            if (!s.fingerprinted) unknown.push_back(s.sql);
            rows.push_back(std::move(s.sql));
            pending.event_values.push_back(std::move(s.display));
            pending.copy_lines.push_back(s.line);
        }
        // Keys the proxy could not fingerprint: the server writes them back for the key set.
        if (!unknown.empty())
            append_proxy_statement(
                out, tracker, guard::stored_keys_probe(g.table(), unknown), ReplyUse::capture,
                remember(PendingCheck{.guard = &g, .action = action, .new_keys = true}));
        const std::uint32_t tag = remember(std::move(pending));
        const auto& table = g.table();
        if (action == config::GuardAction::reject) {
            append_proxy_statement(out, tracker,
                                   guard::copy_reject_check(table, cfg, rows, cfg.nulls_distinct),
                                   ReplyUse::verdict, tag);
        } else if (action == config::GuardAction::log) {
            append_proxy_statement(out, tracker, guard::copy_probe(table, rows, cfg.nulls_distinct),
                                   ReplyUse::capture, tag);
        } else {
            append_held_rows(out, tracker, held_rows, tag);
        }
    }
    // A prepared COPY: the client's own Sync follows.
    if (copy_own_sync_) append_sync(out, tracker);
    return {.replaced = true};
}

void PgGuard::append_held_rows(std::string& out, pg::ReplyTracker& tracker,
                               const std::string& held_rows, std::uint32_t probe_tag) {
    // action "ignore": the held rows are copied into a temporary table as the client sent them,
    // the skipped ones named for the log, the others inserted in their order; the INSERT's
    // count is added to the held `COPY n`.
    const auto& table = copy_plan_.guard->table();
    const bool nulls_distinct = copy_plan_.guard->config().nulls_distinct;
    append_proxy_statement(out, tracker, guard::copy_staging_create(table, copy_plan_.copy_columns),
                           ReplyUse::drop, 0);
    // The staging COPY's data must follow its Execute at once: the server is then reading it.
    pg::append_close(out, 'S', check_name);
    tracker.sent('C', ReplyUse::drop);
    pg::append_parse(out, check_name, copy_staging_statement(copy_plan_));
    tracker.sent('P', ReplyUse::drop);
    pg::append_bind(out, check_name, check_name, {});
    tracker.sent('B', ReplyUse::drop);
    pg::append_execute(out, check_name);
    tracker.sent('E', ReplyUse::drop);
    pg::MessageWriter(out)
        .begin(static_cast<char>(pg::FrontendCode::copy_data))
        .bytes(copy_staging_data(copy_plan_, held_rows))
        .finish();
    pg::MessageWriter(out).begin(static_cast<char>(pg::FrontendCode::copy_done)).finish();
    tracker.sent(static_cast<char>(pg::FrontendCode::copy_done));
    pg::append_close(out, 'P', check_name);
    tracker.sent('C', ReplyUse::drop);
    pg::append_close(out, 'S', check_name);
    tracker.sent('C', ReplyUse::drop);
    append_proxy_statement(out, tracker, guard::copy_ignore_probe(table, nulls_distinct),
                           ReplyUse::capture, probe_tag);
    append_proxy_statement(
        out, tracker, guard::copy_ignore_insert(table, copy_plan_.copy_columns, nulls_distinct),
        ReplyUse::add_count, 0);
    append_proxy_statement(out, tracker, guard::copy_staging_drop(), ReplyUse::drop, 0);
}

void PgGuard::on_check_failed(std::uint32_t tag, pg::ErrorFieldList& fields) {
    std::optional<std::size_t> event;
    std::erase_if(fields, [&](const auto& f) {
        const auto& [code, value] = f;
        if (code == 'c' && value.starts_with(guard::event_marker_prefix)) {
            event = std::strtoul(value.c_str() + guard::event_marker_prefix.size(), nullptr, 10);
            return true;
        }
        // PL/pgSQL's context line and the source location of its RAISE: a real unique
        // violation has neither (its own F/L/R point into nbtinsert.c; we send none).
        return code == 'W' || code == 'F' || code == 'L' || code == 'R';
    });
    auto it = pending_.find(tag);
    if (it == pending_.end()) return;
    PendingCheck& check = it->second;
    if (check.copy && event && *event < check.copy_lines.size()) {
        // The CONTEXT the server gives a violation found while copying, where a PL/pgSQL one
        // would stand (after the message's text fields, before schema/table/constraint).
        const auto at = std::find_if(fields.begin(), fields.end(), [](const auto& f) {
            return std::string_view("stcdnFLR").find(f.first) != std::string_view::npos;
        });
        fields.insert(
            at, {'W', copy_error_context(check.guard->table().name, check.copy_lines[*event])});
    }
    // An INSERT whose keys came late has no values of its own: the error's are the row's.
    if (check.values_from_detail && event && check.late_values &&
        *event >= check.event_values.size() && *event < 65536)
        check.event_values.resize(*event + 1);
    if (check.values_from_detail && event && *event < check.event_values.size()) {
        for (const auto& [code, value] : fields) {
            if (code != 'D') continue;
            auto parts = key_values_of_detail(value);
            if (parts && (parts->size() == check.event_values[*event].size() ||
                          check.event_values[*event].empty()))
                check.event_values[*event] = std::move(*parts);
            break;
        }
    }
    if (!check.refusal && event) {
        check.guard->counters().rejected.fetch_add(1, std::memory_order_relaxed);
        report(check, *event, guard::DuplicateAction::rejected);
    }
    pending_.erase(it);
}

void PgGuard::on_check_passed(std::uint32_t tag) { pending_.erase(tag); }

std::optional<std::vector<std::optional<std::string>>> PgGuard::key_values_of_detail(
    std::string_view detail) {
    // "Key (a, b)=(2, 5) already exists.": the values as the server wrote them (split at ", ",
    // which a text value may contain too; this is for the log only).
    const auto open = detail.find(")=(");
    const auto close = detail.rfind(") already exists.");
    if (open == std::string_view::npos || close == std::string_view::npos || close < open)
        return std::nullopt;
    std::vector<std::optional<std::string>> parts;
    std::string_view rest = detail.substr(open + 3, close - open - 3);
    for (;;) {
        const auto comma = rest.find(", ");
        parts.emplace_back(std::string(rest.substr(0, comma)));
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 2);
    }
    return parts;
}

namespace {
// Bytes of the first `chars` UTF-8 characters of `s` (continuation bytes are 10xxxxxx).
// The server counts an error's position in characters of the query as it converted it; in a
// single-byte client encoding (LATIN1, WIN1252, KOI8R...) every byte is one character, whatever
// it would be in UTF-8.
bool single_byte_encoding(std::string_view encoding) {
    static constexpr std::string_view multibyte[] = {
        "UTF8",   "UTF-8",        "SQL_ASCII",     "EUC_JP", "EUC_CN",         "EUC_KR",
        "EUC_TW", "EUC_JIS_2004", "MULE_INTERNAL", "SJIS",   "SHIFT_JIS_2004", "BIG5",
        "GBK",    "GB18030",      "UHC",           "JOHAB"};
    for (auto m : multibyte)
        if (encoding == m) return false;
    return !encoding.empty();
}
bool starts_char(char c, bool single_byte) {
    return single_byte || (static_cast<unsigned char>(c) & 0xC0) != 0x80;
}
std::size_t byte_of_char(std::string_view s, std::size_t chars, bool single_byte) {
    std::size_t seen = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (!starts_char(s[i], single_byte)) continue;
        if (seen == chars) return i;
        ++seen;
    }
    return s.size();
}
std::size_t chars_before(std::string_view s, std::size_t byte, bool single_byte) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < byte && i < s.size(); ++i)
        if (starts_char(s[i], single_byte)) ++n;
    return n;
}
}  // namespace

void PgGuard::fix_error_position(std::uint32_t rewrite, pg::ErrorFieldList& fields) const {
    auto it = rewrites_.find(rewrite);
    if (it == rewrites_.end()) return;
    const Rewrite& r = it->second;
    for (auto& [code, value] : fields) {
        if (code != 'P') continue;  // 'p' counts in an internal query, not in the client's text
        const long position = std::strtol(value.c_str(), nullptr, 10);
        if (position < 1) return;
        // The 1-based character position in the rewritten text -> its byte -> the client's
        // byte (within a copied segment) -> the client's 1-based character position.
        const bool single_byte = single_byte_encoding(settings_.client_encoding);
        const std::size_t byte =
            byte_of_char(r.rewritten, static_cast<std::size_t>(position - 1), single_byte);
        for (const auto& seg : r.segments) {
            if (byte < seg.rewritten || byte >= seg.rewritten + seg.length) continue;
            const std::size_t original = seg.original + (byte - seg.rewritten);
            value = std::to_string(chars_before(r.original, original, single_byte) + 1);
            return;
        }
    }
}

void PgGuard::on_rewrite_done(std::uint32_t rewrite) { rewrites_.erase(rewrite); }

namespace {
// A learned key's text, sent as hex of its bytes (guard::stored_keys_probe).
std::optional<std::string> from_hex(std::string_view hex) {
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    if (hex.size() % 2 != 0) return std::nullopt;
    std::string out;
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out.push_back(static_cast<char>(hi * 16 + lo));
    }
    return out;
}
}  // namespace

void PgGuard::on_probe_row(std::uint32_t tag, util::Bytes data_row) {
    auto it = pending_.find(tag);
    if (it == pending_.end()) return;
    auto values = pg::decode_data_row(data_row);
    if (!values) return;
    if (it->second.lock_timeout) {
        const auto milliseconds = [&](std::size_t i) {
            return std::chrono::milliseconds(
                i < values->size() && (*values)[i]
                    ? std::strtoll(std::string(*(*values)[i]).c_str(), nullptr, 10)
                    : 0);
        };
        client_timeouts_ = ClientTimeouts{.lock = milliseconds(0), .statement = milliseconds(1)};
        return;
    }
    auto& g = *it->second.guard;
    if (it->second.new_keys && it->second.json_keys) {
        if (!values->empty() && (*values)[0])
            if (auto json = from_hex(*(*values)[0])) learn_json_keys(g, *json);
        return;
    }
    if (it->second.new_keys) {
        // One moved row's new key, written by the output functions under this session's
        // settings: read back the same way, and known to the key set before the row exists.
        const bool late_row = late_ && late_->learn_tag == tag;
        const std::size_t row = late_row ? late_->rows_seen++ : 0;
        const auto& table = g.table();
        const auto& session = session_context();
        std::string encoded;
        bool has_null = false;
        for (std::size_t i = 0; i < values->size() && i < table.key_types.size(); ++i) {
            if (!(*values)[i]) {
                has_null = true;
                guard::append_key_null(encoded);
                continue;
            }
            const auto text = from_hex(*(*values)[i]);
            if (!text) return;
            auto part = guard::normalize_text(table.key_types[i], *text, session);
            if (!part.ok()) return;  // not fingerprinted: such keys are always checked
            guard::append_key_part(encoded, part);
        }
        if (has_null && g.config().nulls_distinct) return;
        const auto fp = guard::fingerprint_encoded_key(encoded, g.seed());
        g.keys().insert(fp);
        // An INSERT whose keys came late: claimed by resume_late, which may wait for them;
        // among other statements of a Query, claimed now (others' writes of them wait, it
        // cannot).
        if (late_row) {
            late_->keys.push_back(fp);
            late_->key_rows.push_back(row);
        } else if (it->second.late)
            claim(g, fp, it->second.claim_ready, true);  // (rows written: as above)
        return;
    }
    if (it->second.skipped_rows) {
        // One row per skipped row: its key's values.
        std::vector<std::optional<std::string>> key;
        for (const auto& v : *values) {
            if (!v) {
                key.emplace_back();
                continue;
            }
            auto text = from_hex(*v);
            key.emplace_back(text ? std::move(*text) : std::string(*v));
        }
        it->second.event_values.push_back(std::move(key));
        it->second.guard->counters().ignored.fetch_add(1, std::memory_order_relaxed);
        report(it->second, it->second.event_values.size() - 1, guard::DuplicateAction::ignored);
        return;
    }
    if (it->second.copy) {
        // One row per duplicate: its event number.
        if (values->empty() || !(*values)[0]) return;
        const bool log = it->second.action == config::GuardAction::log;
        auto& counters = it->second.guard->counters();
        (log ? counters.logged : counters.ignored).fetch_add(1, std::memory_order_relaxed);
        report(it->second, std::strtoul(std::string(*(*values)[0]).c_str(), nullptr, 10),
               log ? guard::DuplicateAction::logged : guard::DuplicateAction::ignored);
        return;
    }
    // An UPDATE's verdict under log: its second column is the detail the verdict would raise,
    // which names the moved row's new key as the server wrote it.
    if (it->second.update_probe && values->size() > 1 && (*values)[1] &&
        !it->second.event_values.empty())
        if (auto parts = key_values_of_detail(*(*values)[1]);
            parts && parts->size() == it->second.event_values.front().size())
            it->second.event_values.front() = std::move(*parts);
    for (std::size_t i = 0; i < values->size(); ++i) {
        if ((*values)[i] && *(*values)[i] == "1") {
            auto& counters = it->second.guard->counters();
            if (it->second.action == config::GuardAction::log) {
                counters.logged.fetch_add(1, std::memory_order_relaxed);
                report(it->second, i, guard::DuplicateAction::logged);
            } else {
                counters.ignored.fetch_add(1, std::memory_order_relaxed);
                report(it->second, i, guard::DuplicateAction::ignored);
            }
        }
    }
}

void PgGuard::on_probe_done(std::uint32_t tag) {
    pending_.erase(tag);
    if (late_ && late_->learn_tag == tag) late_->answered = true;
}

void PgGuard::learn_json_keys(guard::GuardState& g, std::string_view json) {
    // [["2","5"],["3",null],...]: the keys an UPDATE moved rows onto.
    boost::system::error_code ec;
    auto parsed = boost::json::parse(json, ec);
    if (ec || !parsed.is_array()) return;
    const auto& table = g.table();
    const auto& session = session_context();
    std::string encoded;
    for (const auto& row : parsed.as_array()) {
        if (!row.is_array() || row.as_array().size() != table.key_types.size()) continue;
        encoded.clear();
        bool has_null = false, readable = true;
        for (std::size_t i = 0; i < table.key_types.size(); ++i) {
            const auto& v = row.as_array()[i];
            if (v.is_null()) {
                has_null = true;
                guard::append_key_null(encoded);
                continue;
            }
            if (!v.is_string()) {
                readable = false;
                break;
            }
            auto part =
                guard::normalize_text(table.key_types[i], std::string_view(v.as_string()), session);
            if (!part.ok()) {
                readable = false;  // such keys are never fingerprinted: they are always checked
                break;
            }
            guard::append_key_part(encoded, part);
        }
        if (!readable || (has_null && g.config().nulls_distinct)) continue;
        g.keys().insert(guard::fingerprint_encoded_key(encoded, g.seed()));
    }
}

void PgGuard::on_proxy_error(std::uint32_t tag) {
    auto it = pending_.find(tag);
    if (it == pending_.end()) return;
    spdlog::warn(
        "guard {}: the check of a suspected duplicate failed on the server; its error "
        "was passed to the client",
        it->second.guard->config().name);
    pending_.erase(it);
}

void PgGuard::note_savepoint_command(const TransactionCommand& command, bool alone,
                                     std::string_view sql) {
    using K = TransactionCommand::Kind;
    // The savepoints followed are the server's only when each command was alone in its
    // Query, sent with nothing in flight, and (SAVEPOINT, RELEASE) not in a failed block,
    // where the server refuses it; one that fails is caught in note_undo. A RELEASE or
    // ROLLBACK TO of a name not followed (set where the proxy did not see it), a name the
    // server may read otherwise (past 63 bytes it is cut; U&"…" escapes) cannot be placed
    // either. Two reviews found each of these making the proxy's innermost savepoint another
    // than the server's.
    const bool nothing_in_flight = claims_.next_answer() == claims_.next_ready();
    const bool known_name = command.kind == K::savepoint || claims_.savepoint_mark(command.name);
    if (!alone || !nothing_in_flight || !known_name || command.name.size() > 63 ||
        sql.find('&') != std::string_view::npos ||
        (command.kind != K::rollback_to && last_status_ == pg::TransactionStatus::failed))
        savepoints_certain_ = false;
    savepoint_command_ready_ = claims_.next_ready();
}

void PgGuard::note_undo() {
    rolled_back_since_ready_ = true;
    if (savepoint_command_ready_ == claims_.next_answer()) savepoints_certain_ = false;
    // Inside the innermost savepoint followed when nothing else is in flight; with later
    // messages sent (a pipeline) their savepoints may not be set yet, and with the savepoints
    // uncertain the innermost may be another: from outside any.
    const bool exact = savepoints_certain_ && claims_.alone_in_flight();
    undone_inside_ = std::min(undone_inside_, exact ? claims_.innermost_savepoint_mark() : 0);
}

void PgGuard::on_ready_for_query(pg::TransactionStatus status, bool nothing_owed) {
    // Keys of transactions that ended (or failed: the server released their locks) are free;
    // those of transactions that committed are remembered as committed.
    const bool idle = status == pg::TransactionStatus::idle;
    // A COMMIT or ROLLBACK AND CHAIN alone in its Query ended the transaction though its
    // ReadyForQuery says one is open (the next, opened at once): its keys are freed, committed
    // or not, as at an idle one. Before, they lasted until the chained transaction ended:
    // another session's INSERT of a committed key waited where the index answers 23505 at
    // once, and a ROLLBACK of the chained transaction took the commit's record with it.
    const std::uint64_t answer = claims_.next_answer();
    // A ROLLBACK TO that succeeded (the block goes on) undid every error and rollback inside
    // its savepoint, whose claims it freed when sent: the transaction may commit them no
    // more. Before, any error or ROLLBACK tag counted the whole transaction as rolled back,
    // and the keys written before the savepoint recorded no commit (a miss in an older
    // snapshot).
    std::erase_if(followed_rollbacks_to_,
                  [&](const FollowedRollbackTo& r) { return r.ready < answer; });
    if (!followed_rollbacks_to_.empty() && followed_rollbacks_to_.front().ready == answer) {
        if (status == pg::TransactionStatus::in_block &&
            undone_inside_ >= followed_rollbacks_to_.front().mark) {
            rolled_back_since_ready_ = false;
            undone_inside_ = ~std::uint64_t{0};
        }
        followed_rollbacks_to_.erase(followed_rollbacks_to_.begin());
    }
    std::erase_if(chain_ends_, [&](std::uint64_t ready) { return ready < answer; });
    const bool chained = status == pg::TransactionStatus::in_block && !chain_ends_.empty() &&
                         chain_ends_.front() == answer;
    const bool ended = idle || chained;
    claims_.on_ready_for_query(chained ? pg::TransactionStatus::idle : status, nothing_owed,
                               ended && !rolled_back_since_ready_);
    if (ended) {
        rolled_back_since_ready_ = false;
        undone_inside_ = ~std::uint64_t{0};
        savepoints_certain_ = true;
    }
    // The next transaction begins with the client's next statement, or, when messages are in
    // flight already (a pipeline), now.
    if (ended) transaction_start_ = nothing_owed ? 0 : guard::commit_clock().load();
    last_status_ = status;
    // Outside a transaction with nothing in flight: whatever this session wrote has committed
    // or rolled back.
    for (auto& id : late_rewrites_done_)
        if (id != 0) rewrites_.erase(std::exchange(id, 0));
    if (status == pg::TransactionStatus::idle && nothing_owed) {
        close_writes();
        for (auto* g : truncated_) registry_->rebuild_keys(*g, "after a TRUNCATE");
        truncated_.clear();
    }
    // Portals are not forgotten here: in a pipeline the client's next Bind may already have
    // been read when an earlier Sync's ReadyForQuery arrives. A portal the server dropped is
    // replaced by the next Bind of its name or closed by the client; a stale entry only costs a
    // check of an Execute the server refuses anyway. The maps are bounded below.
    if (portals_.size() > 256) portals_.clear();
    if (redirects_.size() > 256) redirects_.clear();
    // Checks whose replies never came (their statement failed first, or the server skipped to
    // Sync): once the server owes nothing, none can come any more.
    if (status == pg::TransactionStatus::idle && nothing_owed)
        settings_changed_in_transaction_ = false;  // nothing left to put back
    if (nothing_owed) {
        settings_unconfirmed_ = false;  // every ParameterStatus has come before this
        pending_.clear();
        copy_.reset();  // a COPY the server refused before its data: none comes
    }
}

void PgGuard::report(const PendingCheck& check, std::size_t event, guard::DuplicateAction action) {
    if (!duplicates_) return;
    const auto& cfg = check.guard->config();
    guard::DuplicateRecord r;
    r.time = std::chrono::system_clock::now();
    r.guard = cfg.name;
    r.table = check.guard->state() == guard::GuardLoadState::ready
                  ? check.guard->table().schema + "." + check.guard->table().name
                  : cfg.table;
    r.columns = cfg.columns;
    if (event < check.event_values.size()) r.values = check.event_values[event];
    r.action = action;
    r.client = identity_.client_address;
    r.user = identity_.user;
    r.database = identity_.database;
    r.application_name = settings_.application_name;
    r.in_transaction = check.in_transaction;
    r.statement = check.statement;
    r.protocol = config::Protocol::postgres;
    r.standard_conforming_strings = settings_.standard_conforming_strings;
    duplicates_->write(r);
}

}  // namespace uniqguard::proxy
