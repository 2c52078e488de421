// Progress of a long run on stderr (SPEC §1): a bar redrawn in place when stderr is a
// terminal, a log line every few seconds otherwise. A ticker thread redraws from atomics, so
// the display stays alive while the server is busy (a GROUP BY over millions of rows sends
// nothing until it is done) and the worker never waits for the terminal.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace uniqguard::app::audit {

class Progress {
  public:
    // `label` prefixes every line ("audit courses_uniq"). `total` 0: rows are counted with
    // add(), no end known; else the bar counts steps (each step() ends the one before) or
    // set_done() values up to `total`.
    explicit Progress(std::string label, std::uint64_t total = 0);
    ~Progress();  // finish()
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    void set_done(std::uint64_t done) { done_.store(done, std::memory_order_relaxed); }
    void add(std::uint64_t n) { done_.fetch_add(n, std::memory_order_relaxed); }
    // What is happening now ("waiting for the lock on ..."); when not a tty, logged at once
    // once the run has lasted one log interval.
    void step(const std::string& what);
    // Clears the bar (tty) or logs the final count; idempotent.
    void finish();

    // Between two log lines when stderr is not a terminal.
    static constexpr std::chrono::seconds log_interval{5};

  private:
    void tick();
    std::string line() const;

    std::string label_;
    std::uint64_t total_;
    std::atomic<std::uint64_t> done_{0};
    bool tty_;
    std::chrono::steady_clock::time_point start_;
    mutable std::mutex mutex_;  // step_, stop_, and writes to stderr
    std::condition_variable wake_;
    std::string step_;
    bool stop_ = false;
    bool finished_ = false;
    std::thread ticker_;
};

}  // namespace uniqguard::app::audit
