#include "sql/statement_cache.hpp"

#include <string>
#include <unordered_map>

#include "sql/literal_shape.hpp"

namespace uniqguard::sql {

namespace {
// Enough for the distinct statement shapes of an application; a workload with more (generated
// column lists, IN lists of every length) clears the cache now and then and parses again.
constexpr std::size_t max_entries = 4096;

struct Cached {
    std::vector<Statement> statements;
    LiteralShape shape;
};

struct Cache {
    std::unordered_map<std::string, Cached> entries;
    LiteralShape scratch;  // re-used for every lookup
};

Cache& thread_cache() {
    thread_local Cache cache;
    return cache;
}
}  // namespace

Analysis analyse_postgres(std::string_view sql) {
    Cache& cache = thread_cache();
    literal_shape(sql, cache.scratch);
    return analyse_postgres(sql, cache.scratch);
}

Analysis analyse_postgres(std::string_view sql, const LiteralShape& shape) {
    Cache& cache = thread_cache();
    if (shape.ok) {
        if (auto it = cache.entries.find(shape.key); it != cache.entries.end()) {
            if (auto statements =
                    rebind_literals(it->second.statements, it->second.shape, sql, shape))
                return {std::move(*statements), std::nullopt, true};
        }
    }
    ParseResult parsed = parse_postgres(sql);
    if (!parsed) return {{}, std::move(parsed.error), false};
    if (shape.ok) {
        if (cache.entries.size() >= max_entries) cache.entries.clear();
        cache.entries.insert_or_assign(shape.key, Cached{parsed.statements, shape});
    }
    return {std::move(parsed.statements), std::nullopt, false};
}

std::size_t statement_cache_size() { return thread_cache().entries.size(); }

}  // namespace uniqguard::sql
