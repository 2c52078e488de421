// A MySQL session's prepared statements as the guard follows them
// (proxy/mysql_prepared_statements.hpp): prepare → answer, executes binding types or reusing
// them, long data spent by an execute, reset, close, bounds.
#include "proxy/mysql_prepared_statements.hpp"

#include <catch2/catch.hpp>
#include <optional>
#include <string>

using namespace uniqguard;
using namespace uniqguard::proxy;
using namespace uniqguard::protocol::mysql;
using util::as_bytes;
using util::as_chars;

namespace {
std::string execute(std::uint32_t id, const std::string& after_iteration_count) {
    std::string p("\x17", 1);
    for (int i = 0; i < 4; ++i) p += static_cast<char>((id >> (8 * i)) & 0xFF);
    p += std::string("\x00\x01\x00\x00\x00", 5);
    return p + after_iteration_count;
}
}  // namespace

TEST_CASE("Types bound at one execute serve the next", "[mysql][prepared]") {
    MySqlPreparedStatements ps;
    ps.on_prepare("INSERT INTO t VALUES (?)", nullptr);
    ps.on_prepare_answer(std::make_pair(7u, std::uint16_t{1}));
    REQUIRE(ps.find(7));
    CHECK(ps.find(7)->text == "INSERT INTO t VALUES (?)");
    std::string error;
    const PreparedStatement* s = nullptr;
    // Bound: TINY 5. Then not bound: TINY again, 6.
    const std::string first = execute(7, std::string("\x00\x01\x01\x00\x05", 5));
    auto e = ps.on_execute(as_bytes(first), &s, error);
    REQUIRE(e);
    CHECK(s == ps.find(7));
    CHECK(e->params[0].type == ParamType{field_type::tiny, false});
    const std::string second = execute(7, std::string("\x00\x00\x06", 3));
    e = ps.on_execute(as_bytes(second), &s, error);
    REQUIRE(e);
    CHECK(e->params[0].type == ParamType{field_type::tiny, false});
    CHECK(as_chars(e->params[0].value) == "\x06");
}

TEST_CASE("Long data is spent by the execute; reset drops it", "[mysql][prepared]") {
    MySqlPreparedStatements ps;
    ps.on_prepare("INSERT INTO t VALUES (?, ?)", nullptr);
    ps.on_prepare_answer(std::make_pair(1u, std::uint16_t{2}));
    ps.on_send_long_data(1, 0);
    std::string error;
    // Types BLOB, TINY; the first value came as long data, so only the TINY's byte follows.
    const std::string first = execute(1, std::string("\x00\x01\xfc\x00\x01\x00\x09", 7));
    auto e = ps.on_execute(as_bytes(first), nullptr, error);
    REQUIRE(e);
    CHECK(e->params[0].long_data);
    CHECK(as_chars(e->params[1].value) == "\x09");
    // The next execute has no long data: the BLOB's value is in the payload.
    const std::string second = execute(1, std::string("\x00\x00\x02hi\x03", 6));
    e = ps.on_execute(as_bytes(second), nullptr, error);
    REQUIRE(e);
    CHECK_FALSE(e->params[0].long_data);
    CHECK(as_chars(e->params[0].value) == "hi");
    ps.on_send_long_data(1, 1);
    ps.on_reset(1);
    e = ps.on_execute(as_bytes(second), nullptr, error);
    REQUIRE(e);
    CHECK_FALSE(e->params[1].long_data);
}

TEST_CASE("Long data is kept within its bounds and handed to the execute", "[mysql][prepared]") {
    using Kept = MySqlPreparedStatements::LongValues;
    MySqlPreparedStatements ps;
    ps.on_prepare("INSERT INTO t VALUES (?, ?)", nullptr);
    ps.on_prepare_answer(std::make_pair(1u, std::uint16_t{2}));
    ps.on_send_long_data(1, 0, as_bytes(std::string("ab")));
    ps.on_send_long_data(1, 0, as_bytes(std::string("cd")));
    std::string error;
    Kept kept;
    const std::string first = execute(1, std::string("\x00\x01\xfc\x00\x01\x00\x09", 7));
    auto e = ps.on_execute(as_bytes(first), nullptr, error, &kept);
    REQUIRE(e);
    CHECK(kept == Kept{{0, "abcd"}});
    CHECK(e->params[0].long_data_kept);
    CHECK(as_chars(e->params[0].value) == "abcd");
    CHECK_FALSE(e->params[1].long_data_kept);
    // Spent: the next execute has none.
    e = ps.on_execute(as_bytes(execute(1, std::string("\x00\x00\x02hi\x03", 6))), nullptr, error,
                      &kept);
    REQUIRE(e);
    CHECK(kept.empty());
    CHECK_FALSE(e->params[0].long_data);
    // Past 64 KiB for a parameter: marked, not kept.
    const std::string chunk(40000, 'x');
    ps.on_send_long_data(1, 0, as_bytes(chunk));
    ps.on_send_long_data(1, 0, as_bytes(chunk));
    ps.on_send_long_data(1, 0, as_bytes(std::string("y")));
    e = ps.on_execute(as_bytes(first), nullptr, error, &kept);
    REQUIRE(e);
    CHECK(e->params[0].long_data);
    CHECK_FALSE(e->params[0].long_data_kept);
    CHECK(kept.empty());
    // Past 1 MiB for the session (many statements' long data waiting): marked, not kept.
    for (std::uint32_t id = 2; id < 40; ++id) {
        ps.on_prepare("INSERT INTO t VALUES (?, ?)", nullptr);
        ps.on_prepare_answer(std::make_pair(id, std::uint16_t{2}));
        ps.on_send_long_data(id, 0, as_bytes(chunk));
    }
    e = ps.on_execute(as_bytes(execute(2, std::string("\x00\x01\xfc\x00\x01\x00\x09", 7))), nullptr,
                      error, &kept);
    REQUIRE(e);
    CHECK(e->params[0].long_data_kept);  // among the first 1 MiB
    e = ps.on_execute(as_bytes(execute(39, std::string("\x00\x01\xfc\x00\x01\x00\x09", 7))),
                      nullptr, error, &kept);
    REQUIRE(e);
    CHECK_FALSE(e->params[0].long_data_kept);  // only the first 26 × 40,000 bytes fit
    // Closing and clearing give the room back.
    for (std::uint32_t id = 3; id < 40; ++id) ps.on_close(id);
    ps.on_prepare("INSERT INTO t VALUES (?, ?)", nullptr);
    ps.on_prepare_answer(std::make_pair(50u, std::uint16_t{2}));
    ps.on_send_long_data(50, 0, as_bytes(chunk));
    e = ps.on_execute(as_bytes(execute(50, std::string("\x00\x01\xfc\x00\x01\x00\x09", 7))),
                      nullptr, error, &kept);
    REQUIRE(e);
    CHECK(e->params[0].long_data_kept);
}

TEST_CASE("Failed prepares, closes, unknown statements, bounds", "[mysql][prepared]") {
    MySqlPreparedStatements ps(2, 1000);
    ps.on_prepare("bad", nullptr);
    ps.on_prepare("INSERT INTO t VALUES (1)", nullptr);
    ps.on_prepare_answer(std::nullopt);  // the first failed
    ps.on_prepare_answer(std::make_pair(2u, std::uint16_t{0}));
    CHECK(ps.size() == 1);
    CHECK(ps.find(2)->text == "INSERT INTO t VALUES (1)");
    std::string error;
    CHECK_FALSE(ps.on_execute(as_bytes(execute(9, "")), nullptr, error));
    CHECK(error == "COM_STMT_EXECUTE of a statement the proxy does not know");
    ps.on_close(2);
    CHECK(ps.size() == 0);
    for (std::uint32_t id = 1; id <= 3; ++id) {
        ps.on_prepare("SELECT 1", nullptr);
        ps.on_prepare_answer(std::make_pair(id, std::uint16_t{0}));
    }
    CHECK(ps.size() == 2);  // the third is over the bound: not kept
    CHECK_FALSE(ps.find(3));
    ps.clear();
    CHECK(ps.size() == 0);
}

TEST_CASE("Unfollowed prepares keep their place; reset drops the prepares in flight",
          "[mysql][prepared]") {
    MySqlPreparedStatements ps(2, 1000);
    ps.on_prepare_unfollowed();
    ps.on_prepare("INSERT INTO t VALUES (?)", nullptr, "app");
    CHECK(ps.has_room(10));  // one kept, one in flight: room for a second
    ps.on_prepare_answer(std::make_pair(4u, std::uint16_t{0}));  // the unfollowed one's
    ps.on_prepare_answer(std::make_pair(5u, std::uint16_t{1}));
    CHECK_FALSE(ps.find(4));
    REQUIRE(ps.find(5));
    CHECK(ps.find(5)->database == "app");
    bool unanswered = true;
    CHECK(ps.last_prepared(unanswered) == 5u);
    CHECK_FALSE(unanswered);
    ps.on_prepare("INSERT INTO t VALUES (?, ?)", nullptr);
    CHECK_FALSE(ps.has_room(10));  // two with the one in flight
    CHECK_FALSE(ps.last_prepared(unanswered));
    CHECK(unanswered);
    // COM_RESET_CONNECTION before the answer: the statement it answers is gone with the rest.
    ps.clear();
    ps.on_prepare_answer(std::make_pair(6u, std::uint16_t{2}));
    CHECK(ps.size() == 0);
}

TEST_CASE("An execute binding no types gets the remembered ones written in", "[mysql][prepared]") {
    MySqlPreparedStatements ps;
    ps.on_prepare("INSERT INTO t VALUES (?, ?)", nullptr);
    ps.on_prepare_answer(std::make_pair(2u, std::uint16_t{2}));
    std::string error;
    // NULL bitmap (the second is NULL), types LONGLONG UNSIGNED and VAR_STRING, then 8 bytes.
    const std::string bound =
        execute(2, std::string("\x02\x01\x08\x80\xfd\x00", 6) + std::string(8, '\x07'));
    REQUIRE(ps.on_execute(as_bytes(bound), nullptr, error));
    const std::string unbound = execute(2, std::string("\x02\x00", 2) + std::string(8, '\x07'));
    const auto e = ps.on_execute(as_bytes(unbound), nullptr, error);
    REQUIRE(e);
    CHECK(mysql_execute_with_types(as_bytes(unbound), *e, ps.find(2)->bound_types) == bound);
}
