#include "guard/guard_registry.hpp"

#include <random>

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

std::uint64_t process_seed() {
    std::random_device rd;
    return (std::uint64_t{rd()} << 32) ^ rd();
}
}  // namespace

GuardState::GuardState(config::Guard config, std::uint64_t seed)
    : config_(std::move(config)), configured_name_(split_configured(config_.table)), seed_(seed) {}

void GuardState::set_ready(GuardTable table) {
    table_ = std::move(table);
    state_.store(GuardLoadState::ready, std::memory_order_release);
}

void GuardState::set_failed(std::string why) {
    {
        std::lock_guard lock(failure_mutex_);
        failure_ = std::move(why);
    }
    state_.store(GuardLoadState::failed, std::memory_order_release);
}

std::uint64_t GuardState::open_writer() {
    // The epoch first, then the count: a rebuild that starts in between finds the writer's
    // keys in both sets (KeySet::begin_rebuild precedes the epoch change), so missing it in
    // the count costs nothing.
    const std::uint64_t epoch = rebuild_epoch_.load(std::memory_order_acquire);
    writers_[epoch & 1].fetch_add(1, std::memory_order_acq_rel);
    return epoch;
}

void GuardState::close_writer(std::uint64_t epoch) {
    writers_[epoch & 1].fetch_sub(1, std::memory_order_acq_rel);
}

std::uint64_t GuardState::next_rebuild_epoch() {
    return rebuild_epoch_.fetch_add(1, std::memory_order_acq_rel);
}

std::int64_t GuardState::writers_of(std::uint64_t epoch) const {
    return writers_[epoch & 1].load(std::memory_order_acquire);
}

bool GuardState::request_rebuild() {
    std::lock_guard lock(rebuild_mutex_);
    if (rebuild_running_) {
        rebuild_again_ = true;
        return false;
    }
    rebuild_running_ = true;
    return true;
}

bool GuardState::rebuild_done() {
    std::lock_guard lock(rebuild_mutex_);
    if (rebuild_again_) {
        rebuild_again_ = false;
        return true;  // still running: once more
    }
    rebuild_running_ = false;
    return false;
}

std::string GuardState::failure() const {
    std::lock_guard lock(failure_mutex_);
    return failure_;
}

bool GuardState::matches(const sql::QualifiedName& target) const {
    if (state() == GuardLoadState::ready) {
        const auto& t = *table_;
        return target.name == t.name && (target.schema.empty() || target.schema == t.schema);
    }
    return target.name == configured_name_.name &&
           (target.schema.empty() || configured_name_.schema.empty() ||
            target.schema == configured_name_.schema);
}

GuardRegistry::GuardRegistry(const std::vector<config::Guard>& guards)
    : filter_(bare_names(guards)) {
    static std::atomic<std::uint64_t> next_id{1};
    id_ = next_id.fetch_add(1, std::memory_order_relaxed);
    const std::uint64_t seed = process_seed();
    for (const auto& g : guards) guards_.push_back(std::make_unique<GuardState>(g, seed));
}

GuardState* GuardRegistry::find(const sql::QualifiedName& target) const {
    for (const auto& g : guards_)
        if (g->matches(target)) return g.get();
    return nullptr;
}

}  // namespace uniqguard::guard
