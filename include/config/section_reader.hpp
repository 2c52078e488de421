// Typed, checked access to the keys of one TOML table of the configuration ([listen], one
// [[guard]] entry, ...). Every getter reports what is wrong through Diagnostics, with the line of
// the offending value, and returns nullopt both when the key is absent and when it is wrong:
// callers then keep the default from config.hpp, and the first report is what the user sees.
//
// Every string read through here has had its ${VAR} references expanded. Getters that name the
// value in their message (one_of, endpoint, the list checks) are only used for keys that are not
// secrets; string() and non_empty_string() never echo a value, so backend.password, admin.token
// and log.values_key go through them only.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/diagnostics.hpp"
#include "config/loader.hpp"

namespace uniqguard::config {

// What every section reader needs besides its table.
struct ReadContext {
    Diagnostics& diagnostics;
    const EnvLookup& env;
};

// "a string", "an integer", ...: the type names used in "expected X, found Y".
std::string_view describe_type(toml::node_type type);

// `"a", "b", "c"`: the allowed-values list of a choice.
std::string quoted_list(const std::vector<std::string_view>& values);

template <typename Enum>
struct Choice {
    std::string_view text;
    Enum value;
};

class SectionReader {
  public:
    // `key_prefix` goes before every key in messages ("listen", "guard[2]"); `label` names the
    // table in the unknown-key message ("[listen]", "[[guard]]"); `known_keys` is every key the
    // table may hold, in the order the documentation lists them.
    SectionReader(const toml::table& table, std::string key_prefix, std::string label,
                  std::span<const std::string_view> known_keys, const ReadContext& context);

    // Reports the first key (in file order) that is not a known key. Called before reading any
    // value, so that a misspelt key is reported as such rather than as a missing one.
    void reject_unknown_keys();

    bool has(std::string_view key) const;
    bool is_string(std::string_view key) const;
    std::string full_key(std::string_view key) const;  // "listen.address"
    std::uint32_t table_line() const;
    // The line of the key's value; the table's line when the key is absent.
    std::uint32_t line_of(std::string_view key) const;
    // Reports a problem with `key` at its line.
    void report(std::string_view key, std::string_view problem, std::string_view allowed) const;

    std::optional<std::string> string(std::string_view key, std::string_view allowed) const;
    std::optional<std::string> non_empty_string(std::string_view key,
                                                std::string_view allowed) const;
    std::optional<std::int64_t> integer(std::string_view key, std::int64_t min,
                                        std::int64_t max) const;
    std::optional<bool> boolean(std::string_view key) const;
    std::optional<Endpoint> endpoint(std::string_view key) const;
    // One of `values`, compared exactly (case matters, as in the SPEC).
    std::optional<std::string> one_of(std::string_view key,
                                      std::initializer_list<std::string_view> values) const;
    // A non-empty array of distinct, non-empty strings.
    std::optional<std::vector<std::string>> distinct_strings(std::string_view key,
                                                             std::string_view allowed) const;

    template <typename Enum>
    std::optional<Enum> choice(std::string_view key,
                               std::initializer_list<Choice<Enum>> choices) const {
        std::vector<std::string_view> texts;
        for (const auto& c : choices) texts.push_back(c.text);
        const auto text = one_of_texts(key, texts);
        if (!text) return std::nullopt;
        for (const auto& c : choices) {
            if (c.text == *text) return c.value;
        }
        return std::nullopt;  // unreachable: one_of_texts only returns one of `texts`
    }

  private:
    const toml::node* node(std::string_view key) const;
    bool is_known(std::string_view key) const;
    void report_type(std::string_view key, const toml::node& found, std::string_view expected,
                     std::string_view allowed) const;
    std::optional<std::string> expand(std::string_view key_in_message, std::string_view raw,
                                      std::uint32_t line) const;
    std::optional<std::string> one_of_texts(std::string_view key,
                                            const std::vector<std::string_view>& values) const;

    const toml::table& table_;
    std::string key_prefix_;
    std::string label_;
    std::vector<std::string_view> known_keys_;
    ReadContext context_;
};

}  // namespace uniqguard::config
