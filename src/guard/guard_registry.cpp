#include "guard/guard_registry.hpp"

#include <algorithm>
#include <random>

#include "config/config_diff.hpp"

namespace uniqguard::guard {

namespace {
std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

sql::QualifiedName split_configured(const std::string& table) {
    const auto dot = table.find('.');
    if (dot == std::string::npos) return {"", ascii_lower(table)};
    return {ascii_lower(table.substr(0, dot)), ascii_lower(table.substr(dot + 1))};
}

std::vector<std::string> bare_names(const std::vector<config::Guard>& guards) {
    std::vector<std::string> names;
    for (const auto& g : guards) names.push_back(split_configured(g.table).name);
    return names;
}

// One per process, drawn once: every key set of every registry uses it.
std::uint64_t process_seed() {
    static const std::uint64_t seed = [] {
        std::random_device rd;
        return (std::uint64_t{rd()} << 32) ^ rd();
    }();
    return seed;
}

std::uint64_t next_registry_id() {
    static std::atomic<std::uint64_t> next_id{1};
    return next_id.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

GuardState::GuardState(config::Guard config, std::uint64_t seed)
    : GuardState(std::move(config), std::make_shared<GuardKeys>(seed)) {}

GuardState::GuardState(config::Guard config, std::shared_ptr<GuardKeys> keys)
    : config_(std::move(config)),
      configured_name_(split_configured(config_.table)),
      keys_(std::move(keys)),
      k_(*keys_) {}

bool GuardState::same_key_definition(const config::Guard& other) const {
    return config::same_key_definition(config_, other);
}

void GuardState::set_ready(GuardTable table) {
    k_.table = std::move(table);
    k_.state.store(GuardLoadState::ready, std::memory_order_release);
}

void GuardState::set_ready(GuardTable table, std::shared_ptr<const MySqlGuardTable> mysql) {
    k_.mysql_table = std::move(mysql);
    set_ready(std::move(table));
}

void GuardState::set_failed(std::string why) {
    {
        std::lock_guard lock(k_.failure_mutex);
        k_.failure = std::move(why);
    }
    k_.state.store(GuardLoadState::failed, std::memory_order_release);
}

std::uint64_t GuardState::open_writer() {
    // The epoch first, then the count: a rebuild that starts in between finds the writer's
    // keys in both sets (KeySet::begin_rebuild precedes the epoch change), so missing it in
    // the count costs nothing.
    const std::uint64_t epoch = k_.rebuild_epoch.load(std::memory_order_acquire);
    k_.writers[epoch & 1].fetch_add(1, std::memory_order_acq_rel);
    return epoch;
}

void GuardState::close_writer(std::uint64_t epoch) {
    k_.writers[epoch & 1].fetch_sub(1, std::memory_order_acq_rel);
}

std::uint64_t GuardState::next_rebuild_epoch() {
    return k_.rebuild_epoch.fetch_add(1, std::memory_order_acq_rel);
}

std::int64_t GuardState::writers_of(std::uint64_t epoch) const {
    return k_.writers[epoch & 1].load(std::memory_order_acquire);
}

bool GuardState::request_rebuild() {
    std::lock_guard lock(k_.rebuild_mutex);
    if (k_.rebuild_running) {
        k_.rebuild_again = true;
        return false;
    }
    k_.rebuild_running = true;
    return true;
}

bool GuardState::claim_rebuild() {
    std::lock_guard lock(k_.rebuild_mutex);
    if (k_.rebuild_running) return false;
    k_.rebuild_running = true;
    return true;
}

bool GuardState::rebuild_done() {
    std::lock_guard lock(k_.rebuild_mutex);
    if (k_.rebuild_again) {
        k_.rebuild_again = false;
        return true;  // still running: once more
    }
    k_.rebuild_running = false;
    return false;
}

std::string GuardState::failure() const {
    std::lock_guard lock(k_.failure_mutex);
    return k_.failure;
}

bool GuardState::matches(const sql::QualifiedName& target) const {
    if (state() == GuardLoadState::ready) {
        const auto& t = *k_.table;
        return target.name == t.name && (target.schema.empty() || target.schema == t.schema);
    }
    return target.name == configured_name_.name &&
           (target.schema.empty() || configured_name_.schema.empty() ||
            target.schema == configured_name_.schema);
}

GuardRegistry::GuardRegistry(const std::vector<config::Guard>& guards)
    : filter_(bare_names(guards)), id_(next_registry_id()) {
    for (const auto& g : guards) {
        guards_.push_back(std::make_unique<GuardState>(g, process_seed()));
        fresh_.push_back(guards_.back().get());
    }
}

GuardRegistry::GuardRegistry(const std::vector<config::Guard>& guards,
                             const GuardRegistry& previous)
    : filter_(bare_names(guards)), id_(next_registry_id()) {
    for (const auto& g : guards) {
        const auto old = std::find_if(previous.guards_.begin(), previous.guards_.end(),
                                      [&](const auto& p) { return p->same_key_definition(g); });
        if (old != previous.guards_.end()) {
            guards_.push_back(std::make_unique<GuardState>(g, (*old)->shared_keys()));
        } else {
            guards_.push_back(std::make_unique<GuardState>(g, process_seed()));
            fresh_.push_back(guards_.back().get());
        }
    }
}

std::vector<GuardState*> GuardRegistry::fresh_guards() const { return fresh_; }

GuardState* GuardRegistry::find(const sql::QualifiedName& target) const {
    for (const auto& g : guards_)
        if (g->matches(target)) return g.get();
    return nullptr;
}

}  // namespace uniqguard::guard
