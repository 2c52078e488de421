#include "config/section_reader.hpp"

#include <algorithm>
#include <cassert>
#include <set>

#include "config/endpoint.hpp"
#include "config/env_expand.hpp"

namespace uniqguard::config {

std::string_view describe_type(toml::node_type type) {
    switch (type) {
        case toml::node_type::none:
            return "nothing";
        case toml::node_type::table:
            return "a table";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a floating-point number";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::date:
            return "a date";
        case toml::node_type::time:
            return "a time";
        case toml::node_type::date_time:
            return "a date-time";
    }
    return "an unknown type";
}

std::string quoted_list(const std::vector<std::string_view>& values) {
    std::string out;
    for (const auto value : values) {
        if (!out.empty()) out.append(", ");
        out.append("\"").append(value).append("\"");
    }
    return out;
}

namespace {

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string joined(const std::vector<std::string_view>& names) {
    std::string out;
    for (const auto name : names) {
        if (!out.empty()) out.append(", ");
        out.append(name);
    }
    return out;
}

}  // namespace

SectionReader::SectionReader(const toml::table& table, std::string key_prefix, std::string label,
                             std::span<const std::string_view> known_keys,
                             const ReadContext& context)
    : table_(table),
      key_prefix_(std::move(key_prefix)),
      label_(std::move(label)),
      known_keys_(known_keys.begin(), known_keys.end()),
      context_(context) {}

void SectionReader::reject_unknown_keys() {
    // toml::table iterates in key order, not file order; the user expects the first one they wrote.
    const toml::key* first_unknown = nullptr;
    for (const auto& [key, value] : table_) {
        if (is_known(key.str())) continue;
        if (first_unknown == nullptr ||
            value.source().begin.line < table_.at(first_unknown->str()).source().begin.line) {
            first_unknown = &key;
        }
    }
    if (first_unknown == nullptr) return;
    context_.diagnostics.report(
        table_.at(first_unknown->str()).source().begin.line, full_key(first_unknown->str()),
        "unknown key; allowed keys in " + label_ + ": " + joined(known_keys_), "");
}

bool SectionReader::is_known(std::string_view key) const {
    return std::find(known_keys_.begin(), known_keys_.end(), key) != known_keys_.end();
}

bool SectionReader::has(std::string_view key) const { return node(key) != nullptr; }

std::string SectionReader::full_key(std::string_view key) const {
    return key_prefix_ + "." + std::string(key);
}

std::uint32_t SectionReader::table_line() const { return table_.source().begin.line; }

std::uint32_t SectionReader::line_of(std::string_view key) const {
    const toml::node* value = node(key);
    return value != nullptr ? value->source().begin.line : table_line();
}

void SectionReader::report(std::string_view key, std::string_view problem,
                           std::string_view allowed) const {
    context_.diagnostics.report(line_of(key), full_key(key), problem, allowed);
}

const toml::node* SectionReader::node(std::string_view key) const {
    // A key read but not declared would be refused as unknown before it is ever read.
    assert(is_known(key));
    return table_.get(key);
}

void SectionReader::report_type(std::string_view key, const toml::node& found,
                                std::string_view expected, std::string_view allowed) const {
    report(
        key,
        "expected " + std::string(expected) + ", found " + std::string(describe_type(found.type())),
        allowed);
}

std::optional<std::string> SectionReader::expand(std::string_view key_in_message,
                                                 std::string_view raw, std::uint32_t line) const {
    Expansion expansion = expand_env(raw, context_.env);
    if (!expansion.value) {
        context_.diagnostics.report(line, key_in_message, expansion.problem, "");
        return std::nullopt;
    }
    return std::move(expansion.value);
}

std::optional<std::string> SectionReader::string(std::string_view key,
                                                 std::string_view allowed) const {
    const toml::node* value = node(key);
    if (value == nullptr) return std::nullopt;
    const auto* text = value->as_string();
    if (text == nullptr) {
        report_type(key, *value, "a string", allowed);
        return std::nullopt;
    }
    return expand(full_key(key), text->get(), value->source().begin.line);
}

std::optional<std::string> SectionReader::non_empty_string(std::string_view key,
                                                           std::string_view allowed) const {
    auto text = string(key, allowed);
    if (text && text->empty()) {
        report(key, "must not be empty", allowed);
        return std::nullopt;
    }
    return text;
}

std::optional<std::int64_t> SectionReader::integer(std::string_view key, std::int64_t min,
                                                   std::int64_t max) const {
    const std::string allowed = std::to_string(min) + ".." + std::to_string(max);
    const toml::node* value = node(key);
    if (value == nullptr) return std::nullopt;
    const auto* number = value->as_integer();
    if (number == nullptr) {
        report_type(key, *value, "an integer", allowed);
        return std::nullopt;
    }
    const std::int64_t n = number->get();
    if (n < min || n > max) {
        report(key, std::to_string(n) + " is out of range", allowed);
        return std::nullopt;
    }
    return n;
}

bool SectionReader::is_string(std::string_view key) const {
    const toml::node* value = node(key);
    return value != nullptr && value->is_string();
}

std::optional<bool> SectionReader::boolean(std::string_view key) const {
    const toml::node* value = node(key);
    if (value == nullptr) return std::nullopt;
    const auto* flag = value->as_boolean();
    if (flag == nullptr) {
        report_type(key, *value, "a boolean", "true, false");
        return std::nullopt;
    }
    return flag->get();
}

std::optional<Endpoint> SectionReader::endpoint(std::string_view key) const {
    const auto text = string(key, endpoint_allowed);
    if (!text) return std::nullopt;
    EndpointParse parsed = parse_endpoint(*text);
    if (!parsed.endpoint) {
        report(key, parsed.problem, endpoint_allowed);
        return std::nullopt;
    }
    return std::move(parsed.endpoint);
}

std::optional<std::string> SectionReader::one_of(
    std::string_view key, std::initializer_list<std::string_view> values) const {
    return one_of_texts(key, std::vector<std::string_view>(values));
}

std::optional<std::string> SectionReader::one_of_texts(
    std::string_view key, const std::vector<std::string_view>& values) const {
    const std::string allowed = quoted_list(values);
    auto text = string(key, allowed);
    if (!text) return std::nullopt;
    if (std::find(values.begin(), values.end(), *text) == values.end()) {
        report(key, quoted(*text) + " is not allowed", allowed);
        return std::nullopt;
    }
    return text;
}

std::optional<std::vector<std::string>> SectionReader::distinct_strings(
    std::string_view key, std::string_view allowed) const {
    const toml::node* value = node(key);
    if (value == nullptr) return std::nullopt;
    const auto* array = value->as_array();
    if (array == nullptr) {
        report_type(key, *value, "an array of strings", allowed);
        return std::nullopt;
    }
    if (array->empty()) {
        report(key, "must not be empty", allowed);
        return std::nullopt;
    }
    std::vector<std::string> strings;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < array->size(); ++i) {
        const toml::node& element = *array->get(i);
        const std::uint32_t line = element.source().begin.line;
        // Positions are 1-based, like guard[N]: "the first column" is columns[1].
        const std::string element_key = full_key(key) + "[" + std::to_string(i + 1) + "]";
        const auto* text = element.as_string();
        if (text == nullptr) {
            context_.diagnostics.report(
                line, element_key,
                "expected a string, found " + std::string(describe_type(element.type())), allowed);
            return std::nullopt;
        }
        auto expanded = expand(element_key, text->get(), line);
        if (!expanded) return std::nullopt;
        if (expanded->empty()) {
            context_.diagnostics.report(line, element_key, "must not be empty", allowed);
            return std::nullopt;
        }
        if (!seen.insert(*expanded).second) {
            context_.diagnostics.report(line, element_key, quoted(*expanded) + " is repeated",
                                        allowed);
            return std::nullopt;
        }
        strings.push_back(std::move(*expanded));
    }
    return strings;
}

}  // namespace uniqguard::config
