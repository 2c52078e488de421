#include "protocol/postgres/command_tag.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace uniqguard::protocol::postgres;

TEST_CASE("command tags: the row count is the last word", "[command_tag]") {
    CHECK(command_count("INSERT 0 5") == 5u);
    CHECK(command_count(std::string("COPY 12\0", 8)) == 12u);
    CHECK_FALSE(command_count("BEGIN"));
    CHECK_FALSE(command_count("COPY x1"));
}

TEST_CASE("command tags: a held CommandComplete's count is raised in place", "[command_tag]") {
    // A NoticeResponse-like message first, then CommandComplete "COPY 3".
    std::string held = std::string("N\0\0\0\5x", 6) + std::string("C\0\0\0\13COPY 3\0", 12);
    REQUIRE(add_to_command_count(held, 2));
    CHECK(held == std::string("N\0\0\0\5x", 6) + std::string("C\0\0\0\13COPY 5\0", 12));
    REQUIRE(add_to_command_count(held, 95));
    CHECK(held == std::string("N\0\0\0\5x", 6) + std::string("C\0\0\0\15COPY 100\0", 14));
    std::string none("Z\0\0\0\5I", 6);
    CHECK_FALSE(add_to_command_count(none, 1));
}
