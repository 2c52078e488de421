// A MySQL guard over an integer key `app.enroll (user_id)` whose key set is filled by hand, and
// the command payloads the unit tests give it (proxy/mysql_guard.hpp).
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/mysql/packet_writer.hpp"
#include "proxy/mysql_guard.hpp"

namespace uniqguard::test {

using namespace uniqguard::proxy;

struct MySqlGuardFixture {
    explicit MySqlGuardFixture(config::GuardAction action = config::GuardAction::reject,
                               bool ready = true,
                               std::shared_ptr<proxy::ClaimWaiter> waiter = nullptr)
        : registry(std::make_shared<guard::GuardRegistry>(
              std::vector<config::Guard>{guard_config(action)})),
          settings(45, sql::MySqlDialect{}, ""),
          guard(registry, nullptr, "app", std::move(waiter)) {
        session.database = "app";
        if (!ready) return;
        guard::MySqlKeyColumnType id;
        id.kind = guard::MySqlKeyColumnType::Kind::integer;
        id.integer = {4, false};
        auto table = std::make_shared<const guard::MySqlGuardTable>(
            guard::MySqlGuardTable{.schema = "app",
                                   .name = "enroll",
                                   .columns = {"id", "user_id", "note"},
                                   .keys = guard::MySqlKeyColumns({{"user_id", id, nullptr}})});
        g().set_ready(guard::GuardTable{.schema = "app", .name = "enroll"}, table);
    }
    // A second session on the same guards (already loaded).
    explicit MySqlGuardFixture(std::shared_ptr<guard::GuardRegistry> shared,
                               std::shared_ptr<proxy::ClaimWaiter> waiter = nullptr)
        : registry(std::move(shared)),
          settings(45, sql::MySqlDialect{}, ""),
          guard(registry, nullptr, "app", std::move(waiter)) {
        session.database = "app";
    }
    static config::Guard guard_config(config::GuardAction action) {
        config::Guard c;
        c.table = "app.enroll";
        c.columns = {"user_id"};
        c.name = "enroll_uniq";
        c.action = action;
        return c;
    }
    guard::GuardState& g() { return *registry->guards()[0]; }
    MySqlGuard::Step query(const std::string& sql) {
        return guard.on_command("\x03" + sql, settings, session);
    }
    // The check's answer: one row, one column.
    MySqlGuard::Step answer(const std::string& value) {
        std::string bytes;
        protocol::mysql::append_packet(bytes, 1, std::string("\x01"));
        protocol::mysql::append_packet(bytes, 2, std::string(24, '\x01'));
        protocol::mysql::append_packet(bytes, 3, static_cast<char>(value.size()) + value);
        protocol::mysql::append_packet(bytes, 4, std::string("\xFE\x00\x00\x02\x00\x00\x00", 7));
        protocol::mysql::ValueReplyReader reply(true);
        reply.feed(util::as_bytes(bytes));
        REQUIRE(reply.status() == protocol::mysql::ValueReplyReader::Status::done);
        return guard.on_check_reply(reply);
    }

    std::shared_ptr<guard::GuardRegistry> registry;
    MySqlSessionSettings settings;
    MySqlGuard guard;
    MySqlGuardSession session;
};

inline bool signals(const MySqlGuard::Step& step, const std::string& code,
                    const std::string& message) {
    return step.kind == MySqlGuard::Step::Kind::replace &&
           step.sql == guard::mysql_signal_sql(static_cast<std::uint16_t>(std::stoi(code)),
                                               code == "1062" ? "23000" : "42000", message);
}

inline std::string le32(std::uint32_t v) {
    std::string out;
    for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
    return out;
}

// The server's PREPARE OK: statement id, no columns, `params` parameters.
inline std::string prepare_ok(std::uint32_t id, std::uint16_t params) {
    return std::string("\x00", 1) + le32(id) + std::string("\x00\x00", 2) +
           static_cast<char>(params & 0xFF) + static_cast<char>(params >> 8) +
           std::string("\x00\x00\x00", 3);
}

// COM_STMT_EXECUTE of statement `id` with LONGLONG parameters (nullopt: NULL); `bind`: the
// new-params-bound flag with the types.
inline std::string execute(std::uint32_t id, const std::vector<std::optional<std::int64_t>>& values,
                           bool bind = true) {
    std::string p = "\x17" + le32(id) + std::string("\x00\x01\x00\x00\x00", 5);
    std::string bitmap((values.size() + 7) / 8, '\0');
    for (std::size_t i = 0; i < values.size(); ++i)
        if (!values[i]) bitmap[i / 8] = static_cast<char>(bitmap[i / 8] | (1 << (i % 8)));
    p += bitmap;
    p += bind ? '\x01' : '\x00';
    if (bind)
        for (std::size_t i = 0; i < values.size(); ++i) p += std::string("\x08\x00", 2);
    for (const auto& v : values)
        if (v)
            for (int i = 0; i < 8; ++i)
                p += static_cast<char>((static_cast<std::uint64_t>(*v) >> (8 * i)) & 0xFF);
    return p;
}

}  // namespace uniqguard::test
