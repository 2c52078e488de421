#include "progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace uniqguard::app::audit {

namespace {

std::string elapsed(std::chrono::steady_clock::duration d) {
    const auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
    char buf[32];
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
    return buf;
}

}  // namespace

Progress::Progress(std::string label, std::uint64_t total)
    : label_(std::move(label)),
      total_(total),
      tty_(isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      ticker_([this] { tick(); }) {}

Progress::~Progress() { finish(); }

std::string Progress::line() const {
    const std::uint64_t done = done_.load(std::memory_order_relaxed);
    std::string out = label_;
    if (!step_.empty()) out += ": " + step_;
    if (total_ > 0) {
        const std::uint64_t shown = done > total_ ? total_ : done;
        const int percent = static_cast<int>(shown * 100 / total_);
        if (tty_) {
            const int width = 30;
            const int filled = percent * width / 100;
            out += " [" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
        }
        out += " " + std::to_string(percent) + "% (" + std::to_string(shown) + "/" +
               std::to_string(total_) + ")";
    } else if (done > 0) {
        out += ", " + std::to_string(done) + " rows";
    }
    return out + ", " + elapsed(std::chrono::steady_clock::now() - start_);
}

void Progress::tick() {
    const auto period = tty_ ? std::chrono::milliseconds(200)
                             : std::chrono::duration_cast<std::chrono::milliseconds>(log_interval);
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, period, [this] { return stop_; })) {
        if (tty_) {
            std::fprintf(stderr, "\r\033[K%s", line().c_str());
        } else {
            std::fprintf(stderr, "uniqguard: %s\n", line().c_str());
        }
        std::fflush(stderr);
    }
}

void Progress::step(const std::string& what) {
    std::lock_guard lock(mutex_);
    // Counted in steps (a total was given): starting one means the one before is done.
    if (total_ > 0 && !step_.empty()) done_.fetch_add(1, std::memory_order_relaxed);
    step_ = what;
    // Not a terminal: a run shorter than one interval stays quiet (its result says it all);
    // a longer one logs each step as it starts, between the periodic lines.
    if (!tty_ && std::chrono::steady_clock::now() - start_ >= log_interval) {
        std::fprintf(stderr, "uniqguard: %s\n", line().c_str());
    }
}

void Progress::finish() {
    {
        std::lock_guard lock(mutex_);
        if (finished_) return;
        finished_ = true;
        stop_ = true;
    }
    wake_.notify_all();
    ticker_.join();
    if (tty_) std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
}

}  // namespace uniqguard::app::audit
