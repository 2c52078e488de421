// Tests of the named statements a session remembers as text for a later reload
// (pg_named_statements.hpp): which Parses are kept, Close and DEALLOCATE, the bound.
#include "proxy/pg_named_statements.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

#include "protocol/postgres/frontend_messages.hpp"

using namespace uniqguard;
using proxy::NamedStatementTexts;

namespace {
// The body of one client message (after type and length), as the pump hands it over.
std::string body_of(const std::string& message) { return message.substr(5); }

util::Bytes bytes(const std::string& s) { return util::as_bytes(s); }

std::vector<std::string> names(std::vector<std::pair<std::string, NamedStatementTexts::Text>> v) {
    std::vector<std::string> out;
    for (auto& [name, text] : v) out.push_back(name + "=" + text.sql);
    std::sort(out.begin(), out.end());
    return out;
}

auto everything = [](const std::string&) { return true; };
}  // namespace

TEST_CASE("named Parses are kept, the unnamed one is not", "[pg_named_statements]") {
    NamedStatementTexts texts;
    std::string m;
    protocol::postgres::append_parse(m, "s1", "INSERT INTO t VALUES ($1)");
    const std::string named = body_of(m);
    m.clear();
    protocol::postgres::append_parse(m, "", "INSERT INTO t VALUES (1)");
    const std::string unnamed = body_of(m);
    texts.on_client_message('P', bytes(named));
    texts.on_client_message('P', bytes(unnamed));
    CHECK(names(texts.take_if(everything)) ==
          std::vector<std::string>{"s1=INSERT INTO t VALUES ($1)"});
    CHECK(texts.empty());
}

TEST_CASE("a name in use is not replaced unless deallocated; Close forgets",
          "[pg_named_statements]") {
    NamedStatementTexts texts;
    texts.on_parse("s1", "SELECT 1", {});
    texts.on_parse("s1", "SELECT 2", {});  // the server answers 42P05 and keeps SELECT 1
    texts.on_parse("s2", "SELECT 3", {23});
    std::string q;
    protocol::postgres::append_query(q, "DEALLOCATE s1");
    texts.on_client_message('Q', bytes(body_of(q)));
    texts.on_parse("s1", "SELECT 4", {});  // may succeed now
    std::string c;
    protocol::postgres::append_close(c, 'S', "s2");
    auto only_select_4 = [](const std::string& sql) { return sql == "SELECT 4"; };
    auto taken = texts.take_if(only_select_4);
    REQUIRE(taken.size() == 1);
    CHECK(taken[0].first == "s1");
    CHECK_FALSE(taken[0].second.maybe_gone);
    CHECK_FALSE(texts.empty());  // s2 still there
    texts.on_client_message('C', bytes(body_of(c)));
    CHECK(texts.empty());
}

TEST_CASE("past the bound no more statements are kept", "[pg_named_statements]") {
    NamedStatementTexts texts;
    // Names count too: "a" and "b" fill the bound exactly.
    const std::string big(NamedStatementTexts::max_bytes / 2 - 1, 'x');
    texts.on_parse("a", big, {});
    texts.on_parse("b", big, {});
    CHECK_FALSE(texts.overflowed());
    texts.on_parse("c", "x", {});
    CHECK(texts.take_overflow());
    CHECK_FALSE(texts.take_overflow());  // said once
    CHECK(texts.take_if(everything).size() == 2);
    texts.on_parse("d", "y", {});  // room again
    CHECK(names(texts.take_if(everything)) == std::vector<std::string>{"d=y"});
}
