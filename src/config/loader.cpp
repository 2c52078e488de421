#include "config/loader.hpp"

#include <toml++/toml.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "config/diagnostics.hpp"
#include "config/section_reader.hpp"
#include "config/sections.hpp"

namespace uniqguard::config {

namespace {

constexpr std::string_view top_level_allowed = "[listen], [backend], [admin], [log], [[guard]]";

bool is_top_level_name(std::string_view key) {
    return key == "listen" || key == "backend" || key == "admin" || key == "log" || key == "guard";
}

// toml::table iterates in key order; report the unknown key the user wrote first.
void reject_unknown_top_level_keys(const toml::table& root, Diagnostics& diagnostics) {
    const toml::node* first = nullptr;
    std::string_view first_key;
    for (const auto& [key, value] : root) {
        if (is_top_level_name(key.str())) continue;
        if (first == nullptr || value.source().begin.line < first->source().begin.line) {
            first = &value;
            first_key = key.str();
        }
    }
    if (first == nullptr) return;
    diagnostics.report(first->source().begin.line, first_key,
                       "unknown key; allowed top-level tables: " + std::string(top_level_allowed),
                       "");
}

// The table under `name`, or nullptr when absent (defaults apply) or not a table (reported).
const toml::table* section(const toml::table& root, std::string_view name,
                           Diagnostics& diagnostics) {
    const toml::node* node = root.get(name);
    if (node == nullptr) return nullptr;
    if (const auto* table = node->as_table()) return table;
    diagnostics.report(node->source().begin.line, name,
                       "expected a table, found " + std::string(describe_type(node->type())),
                       "a [" + std::string(name) + "] table");
    return nullptr;
}

const toml::array* guard_entries(const toml::table& root, Diagnostics& diagnostics) {
    const toml::node* node = root.get("guard");
    if (node == nullptr) return nullptr;
    if (const auto* array = node->as_array()) return array;
    diagnostics.report(
        node->source().begin.line, "guard",
        "expected an array of tables, found " + std::string(describe_type(node->type())),
        "[[guard]] tables");
    return nullptr;
}

Config read_config(const toml::table& root, const ReadContext& context) {
    Config config;
    reject_unknown_top_level_keys(root, context.diagnostics);
    if (const auto* table = section(root, "listen", context.diagnostics)) {
        read_listen(*table, context, config.listen);
    }
    if (const auto* table = section(root, "backend", context.diagnostics)) {
        read_backend(*table, context, config.backend);
    }
    if (const auto* table = section(root, "admin", context.diagnostics)) {
        read_admin(*table, context, config.admin);
    }
    if (const auto* table = section(root, "log", context.diagnostics)) {
        read_log(*table, context, config.log);
    }
    if (const auto* entries = guard_entries(root, context.diagnostics)) {
        config.guards = read_guards(*entries, config.listen.protocol, context);
    }
    return config;
}

LoadResult failure(std::string message) {
    LoadResult result;
    result.error = LoadError{std::move(message)};
    return result;
}

}  // namespace

LoadResult load_string(std::string_view toml_text, const std::string& source_name,
                       const EnvLookup& env) {
    Diagnostics diagnostics(source_name);
    toml::table root;
    try {
        root = toml::parse(toml_text, std::string_view(source_name));
    } catch (const toml::parse_error& error) {
        const auto& begin = error.source().begin;
        diagnostics.report(begin.line, "",
                           "invalid TOML at column " + std::to_string(begin.column) + ": " +
                               std::string(error.description()),
                           "");
        return failure(diagnostics.first_error()->message);
    }

    Config config = read_config(root, ReadContext{diagnostics, env});
    if (diagnostics.failed()) return failure(diagnostics.first_error()->message);

    config.source_path = source_name;
    LoadResult result;
    result.config = std::move(config);
    return result;
}

LoadResult load_file(const std::string& path, const EnvLookup& env) {
    // Read it ourselves rather than with toml::parse_file, to say *why* it cannot be read.
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                         &std::fclose);
    if (!file) return failure(path + ": cannot read the file: " + std::strerror(errno));
    std::string text;
    char buffer[8192];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, file.get())) > 0) text.append(buffer, n);
    // A directory opens fine on Linux and fails on the first read (EISDIR).
    if (std::ferror(file.get())) {
        return failure(path + ": cannot read the file: " + std::strerror(errno));
    }
    return load_string(text, path, env);
}

}  // namespace uniqguard::config
