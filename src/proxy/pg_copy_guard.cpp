#include "proxy/pg_copy_guard.hpp"

#include "guard/key_fingerprint.hpp"
#include "guard/pg_sql_literal.hpp"

namespace uniqguard::proxy {

namespace {
// What one suspected row costs in memory, counted generously (the vector's spare room, each
// heap block's allocator overhead), so that the bound is one on the proxy's memory.
std::size_t footprint(const PgCopyGuard::Suspect& s) {
    constexpr std::size_t block = 16;  // malloc's overhead per block
    auto heap = [](const std::optional<std::string>& v) {
        return v && v->capacity() > 15 ? v->capacity() + 1 + block : 0;
    };
    std::size_t bytes = 2 * sizeof(PgCopyGuard::Suspect) + 2 * block;
    for (std::size_t k = 0; k < s.sql.size(); ++k)
        bytes += 2 * sizeof(std::optional<std::string>) + heap(s.sql[k]) + heap(s.display[k]);
    return bytes;
}
}  // namespace

PgCopyGuard::PgCopyGuard(guard::GuardState& guard, const WritePlan& plan,
                         const guard::SessionContext& session, std::size_t max_suspect_bytes,
                         SessionClaims* claims, std::uint64_t ready)
    : guard_(guard),
      session_(session),
      claims_(claims),
      ready_(ready),
      hold_suspects_(plan.guard->config().action == config::GuardAction::ignore),
      binary_(plan.copy_options.format == protocol::postgres::CopyDataFormat::binary),
      decoder_(plan.copy_options, plan.copy_key_fields),
      max_suspect_bytes_(max_suspect_bytes) {
    handler_ = [this](const protocol::postgres::CopyRow& row) { on_row(row); };
}

bool PgCopyGuard::on_data(util::Bytes body) {
    if (!error_.empty()) return false;
    if (!decoder_.feed(body, handler_)) error_ = decoder_.error();
    return error_.empty();
}

bool PgCopyGuard::on_done() {
    if (!error_.empty()) return false;
    if (!decoder_.finish(handler_)) error_ = decoder_.error();
    return error_.empty();
}

void PgCopyGuard::on_row(const protocol::postgres::CopyRow& row) {
    const bool suspected = row.is_row && error_.empty() && suspect(row);
    if (!hold_suspects_) return;
    if (!suspected) {
        forward_.append(row.bytes);
        return;
    }
    held_rows_.append(row.bytes);
    suspect_bytes_ += row.bytes.size();
    check_bound();
}

bool PgCopyGuard::suspect(const protocol::postgres::CopyRow& row) {
    if (!row.complete) return false;  // a short row: the server fails the COPY
    const auto& table = guard_.table();
    encoded_.clear();
    bool has_null = false, fingerprintable = true;
    for (std::size_t k = 0; k < row.fields.size(); ++k) {
        const auto& field = row.fields[k];
        if (!field) {
            has_null = true;
            guard::append_key_null(encoded_);
            continue;
        }
        const auto& type = table.key_types[k];
        const auto part = binary_ ? guard::normalize_binary(type, util::as_bytes(*field), session_)
                                  : guard::normalize_text(type, *field, session_);
        switch (part.status) {
            case guard::NormalizeStatus::ok:
                guard::append_key_part(encoded_, part);
                break;
            case guard::NormalizeStatus::null:
                has_null = true;
                guard::append_key_null(encoded_);
                break;
            case guard::NormalizeStatus::invalid:
                return false;  // the server refuses the value and fails the COPY
            case guard::NormalizeStatus::cannot_normalize:
                fingerprintable = false;
                break;
        }
    }
    if (has_null && guard_.config().nulls_distinct) return false;  // never conflicts
    if (fingerprintable) {
        const std::uint64_t fp = guard::fingerprint_encoded_key(encoded_, guard_.seed());
        // Claimed before the key set hears of it; one another session holds is not waited for.
        if (claims_) claims_->claim(guard_.claims(), fp, ready_);
        if (guard_.keys().insert(fp)) return false;  // a new key: the common case
    }
    Suspect s;
    s.line = row.line;
    s.fingerprinted = fingerprintable;
    for (std::size_t k = 0; k < row.fields.size(); ++k) {
        const auto& field = row.fields[k];
        if (!field) {
            s.sql.emplace_back(std::nullopt);
            s.display.emplace_back(std::nullopt);
            continue;
        }
        if (binary_) {
            auto sql = guard::parameter_as_sql(guard::builtin_oid(table.key_types[k].kind), true,
                                               std::string_view(*field));
            if (!sql) {
                error_ = "uniqguard: a binary COPY value of key column \"" +
                         table.columns[table.key_columns[k]].name +
                         "\" cannot be checked by guard \"" + guard_.config().name + "\"";
                return false;
            }
            s.display.emplace_back(*sql);
            s.sql.emplace_back(std::move(*sql));
        } else {
            s.sql.emplace_back(guard::quote_literal(*field));
            s.display.emplace_back(*field);
        }
    }
    suspect_bytes_ += footprint(s);
    suspects_.push_back(std::move(s));
    check_bound();
    return true;
}

void PgCopyGuard::check_bound() {
    if (suspect_bytes_ > max_suspect_bytes_ && error_.empty())
        error_ = "uniqguard: too many rows of this COPY into table \"" + guard_.config().table +
                 "\" may be duplicates for guard \"" + guard_.config().name + "\" (over " +
                 std::to_string(max_suspect_bytes_ >> 20) +
                 " MiB of keys to check); split the COPY";
}

std::string copy_error_context(std::string_view table, std::uint64_t line) {
    return "COPY " + std::string(table) + ", line " + std::to_string(line);
}

}  // namespace uniqguard::proxy

namespace uniqguard::proxy {

std::string copy_staging_statement(const WritePlan& plan) {
    using protocol::postgres::CopyDataFormat;
    const auto& o = plan.copy_options;
    std::string columns;
    for (std::size_t i = 0; i < plan.copy_columns.size(); ++i)
        columns += (i ? ", " : "") + guard::quote_identifier(plan.copy_columns[i]);
    std::string out = "COPY " + std::string(guard::copy_staging_table) + " (" + columns +
                      ") FROM STDIN WITH (FORMAT ";
    if (o.format == CopyDataFormat::binary) return out + "binary)";
    out += o.format == CopyDataFormat::csv ? "csv" : "text";
    out += ", DELIMITER " + guard::quote_literal(std::string(1, o.delimiter));
    out += ", NULL " + guard::quote_literal(o.null_string);
    if (o.format == CopyDataFormat::csv) {
        out += ", QUOTE " + guard::quote_literal(std::string(1, o.quote));
        out += ", ESCAPE " + guard::quote_literal(std::string(1, o.escape));
        auto flagged = [&](const std::vector<bool>& flags, std::string_view option) {
            std::string names;
            for (std::size_t i = 0; i < flags.size() && i < plan.copy_columns.size(); ++i)
                if (flags[i])
                    names +=
                        (names.empty() ? "" : ", ") + guard::quote_identifier(plan.copy_columns[i]);
            if (!names.empty()) out += ", " + std::string(option) + " (" + names + ")";
        };
        flagged(o.force_null, "FORCE_NULL");
        flagged(o.force_not_null, "FORCE_NOT_NULL");
    }
    return out + ")";
}

std::string copy_staging_data(const WritePlan& plan, const std::string& held_rows) {
    if (plan.copy_options.format != protocol::postgres::CopyDataFormat::binary) return held_rows;
    // The signature, no flags, no header extension; the rows; the trailer (-1).
    std::string out("PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19);
    out += held_rows;
    out += "\377\377";
    return out;
}

}  // namespace uniqguard::proxy
