// config/uniqguard.example.toml documents every key the loader accepts (config/known_keys.hpp),
// in its own section, set or commented out ("key = ..." or "# key = ...").
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>

#include "config/known_keys.hpp"
#include "config/loader.hpp"

namespace {

std::filesystem::path example_path() {
    // From this file's own path, as config_loader_test.cpp: independent of the working directory.
    return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path() /
           "config" / "uniqguard.example.toml";
}

// Section header → keys written in it, set or commented out.
std::map<std::string, std::set<std::string>> keys_by_section(std::istream& in) {
    static const std::regex header(R"(^\[{1,2}[a-z_]+\]{1,2}\s*$)");
    static const std::regex key(R"(^(?:#\s*)?([a-z_]+)\s*=)");
    std::map<std::string, std::set<std::string>> out;
    std::string section, line;
    std::smatch m;
    while (std::getline(in, line)) {
        if (std::regex_match(line, header)) {
            section = line.substr(0, line.find_last_of(']') + 1);
        } else if (!section.empty() && std::regex_search(line, m, key)) {
            out[section].insert(m[1]);
        }
    }
    return out;
}

}  // namespace

TEST_CASE("the example config names every key the loader knows, in its section", "[config]") {
    std::ifstream in(example_path());
    REQUIRE(in);
    const auto found = keys_by_section(in);
    for (const auto& section : uniqguard::config::known_sections) {
        const std::string header(section.header);
        INFO(header);
        REQUIRE(found.contains(header));
        for (const auto key : section.keys) {
            INFO(std::string(key));
            CHECK(found.at(header).contains(std::string(key)));
        }
    }
}

TEST_CASE("the compose stack's configs load", "[config]") {
    using namespace uniqguard::config;
    const EnvLookup env = [](std::string_view name) -> std::optional<std::string> {
        if (name == "UNIQGUARD_BACKEND_PASSWORD") return "pw";
        return std::nullopt;
    };
    const auto dir = example_path().parent_path();
    SECTION("docker-postgres.toml") {
        const LoadResult result = load_file((dir / "docker-postgres.toml").string(), env);
        INFO((result.error ? result.error->message : std::string("no error")));
        REQUIRE(result);
        CHECK(result.config->backend.address.to_string() == "postgres:5432");
        CHECK(result.config->admin.address.to_string() == "0.0.0.0:9187");
        CHECK(result.config->guards.size() == 1);
    }
    SECTION("docker-mariadb.toml") {
        const LoadResult result = load_file((dir / "docker-mariadb.toml").string(), env);
        INFO((result.error ? result.error->message : std::string("no error")));
        REQUIRE(result);
        CHECK(result.config->listen.protocol == Protocol::mysql);
        CHECK(result.config->backend.address.to_string() == "mariadb:3306");
    }
}
