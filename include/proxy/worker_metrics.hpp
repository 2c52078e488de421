// The counters one worker thread keeps about the statements it forwards (SPEC §6), read by the
// admin endpoint from the main thread. Each value has one writer, its worker: an increment is a
// relaxed load and store (no locked instruction, no cache line shared with another worker), and a
// scrape sums the workers. A scrape may see one batch's counter before its histogram sample; both
// are monotonic, which is all Prometheus needs.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace uniqguard::proxy {

class SingleWriterCounter {
  public:
    void add(std::uint64_t n = 1) {
        value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

  private:
    std::atomic<std::uint64_t> value_{0};
};

// The statements a client sends, by the protocol's own unit: PostgreSQL Query ('Q'), Parse
// ('P'), Execute ('E'); MySQL COM_QUERY, COM_STMT_PREPARE, COM_STMT_EXECUTE. Nothing is parsed
// to count them.
enum class StatementKind : std::uint8_t { query, prepare, execute };
inline constexpr std::size_t statement_kind_count = 3;
inline constexpr std::array<const char*, statement_kind_count> statement_kind_names = {
    "query", "prepare", "execute"};

// Upper bounds in nanoseconds; the last bucket (+Inf) is implicit. The proxy's own processing of
// a batch is about 1 µs forwarded, 1-20 µs with a guard and up to a parse (docs/architecture.md).
inline constexpr std::array<std::uint64_t, 10> processing_bounds_ns = {
    1'000, 2'500, 5'000, 10'000, 25'000, 50'000, 100'000, 250'000, 1'000'000, 10'000'000};

class ProcessingHistogram {
  public:
    void observe(std::uint64_t ns) {
        std::size_t i = 0;
        while (i < processing_bounds_ns.size() && ns > processing_bounds_ns[i]) ++i;
        buckets_[i].add();
        sum_ns_.add(ns);
    }
    // Per bucket, not cumulative; the last one is above every bound.
    std::uint64_t bucket(std::size_t i) const { return buckets_[i].value(); }
    std::uint64_t sum_ns() const { return sum_ns_.value(); }

  private:
    std::array<SingleWriterCounter, processing_bounds_ns.size() + 1> buckets_;
    SingleWriterCounter sum_ns_;
};

struct WorkerMetrics {
    std::array<SingleWriterCounter, statement_kind_count> statements;
    // One sample per batch of client messages that holds a statement (BatchMeter names its
    // kind): from decoding the batch to handing it to the server's socket,
    // so the time covers the frame reading and the guard, not the network.
    std::array<ProcessingHistogram, statement_kind_count> processing;

    void count(StatementKind kind) { statements[static_cast<std::size_t>(kind)].add(); }
    void observe(StatementKind kind, std::chrono::steady_clock::duration d) {
        processing[static_cast<std::size_t>(kind)].observe(static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()));
    }
};

// The statements of one batch of client messages: counted as they are decoded, the batch timed
// from its first statement to done(), under its first kind other than prepare (or prepare when
// it holds nothing else). Batches without a statement (a Sync alone, a partial
// read) read no clock.
class BatchMeter {
  public:
    explicit BatchMeter(WorkerMetrics& metrics) : metrics_(metrics) {}
    void statement(StatementKind kind) {
        metrics_.count(kind);
        if (timed_) {
            // Parse, Bind, Execute, Sync is one execution: the batch is timed as "execute".
            if (kind_ == StatementKind::prepare) kind_ = kind;
            return;
        }
        timed_ = true;
        kind_ = kind;
        start_ = std::chrono::steady_clock::now();
    }
    void done() {
        if (timed_) metrics_.observe(kind_, std::chrono::steady_clock::now() - start_);
        timed_ = false;
    }

  private:
    WorkerMetrics& metrics_;
    bool timed_ = false;
    StatementKind kind_ = StatementKind::query;
    std::chrono::steady_clock::time_point start_;
};

}  // namespace uniqguard::proxy
