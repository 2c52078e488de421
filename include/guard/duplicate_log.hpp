// The duplicate log (SPEC §2 [log], §4): one JSON object per line for every duplicate write
// attempt, whatever the guard's action, so that no attempted write is lost and the legacy
// clean-up can see who still sends duplicates.
//
// A line (keys in this order; `serialize` of Boost.JSON, so no space and no newline inside):
//   {"time":"2026-11-26T01:02:03.456Z","guard":"courses_enroll_user_id_course_id_uniq",
//    "table":"public.courses_enroll","columns":["user_id","course_id"],"values":["2","1"],
//    "action":"rejected","client":"127.0.0.1:5555","user":"app","database":"app",
//    "application_name":"django","in_transaction":false,
//    "statement":"INSERT INTO courses_enroll (user_id, course_id) VALUES (2, 1)",
//    "truncated":false,"statement_fingerprint":"0123456789abcdef","protocol":"postgres"}
//
// - time: RFC 3339, UTC, milliseconds. values: text as the caller gives it, null for NULL.
// - statement: the text the client sent, cut to max_statement_bytes at a character boundary
//   ("truncated" says whether it was cut; the key is always there, so readers need no default).
// - statement_fingerprint: XXH3-64 of the whole normalised text (statement_text.hpp), so every
//   statement of one shape has one fingerprint whatever its literals, and even when cut.
// - log_values = false: no literal can appear. "statement" is the normalised text (cut the same
//   way) and each value is HMAC-SHA256(values_key, value) in lower-case hex, NULL staying null,
//   with "values_hmac":"sha256" after "values". The HMAC lets one match lines on equal values
//   (and someone holding the key confirm a guess) without storing them. With an empty
//   values_key (the config layer refuses one; this is the fallback) "values" is null and there
//   is no "values_hmac": an HMAC under a key everyone knows is a plain hash, and a user_id is
//   found from its hash by counting.
// - Bytes that are not UTF-8 (a LATIN1 client_encoding, binary values) are replaced by U+FFFD:
//   a JSON reader rejects the whole line otherwise.
//
// DuplicateLog: write() formats on the caller's thread and hands the line to one writer thread
// through a queue bounded in bytes (lines queued or being written). It never waits for I/O. When
// the queue is full the line is dropped and counted; the writer then reports the drops in one
// spdlog warning when it handles the next line that was accepted (or at shutdown). That is the
// only way the log loses lines short of the file itself failing (disk full, EIO): such lines are
// counted as failed, with one spdlog error per run of failures. A line larger than the whole
// bound is accepted when the queue is empty, so that it is not refused forever; the queue then
// holds that one line.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "guard/statement_text.hpp"

namespace uniqguard::guard {

enum class DuplicateAction {
    rejected,           // reject: the client got the duplicate error
    ignored,            // ignore: the row was dropped, the rest went through
    logged,             // log: forwarded unchanged
    forwarded_unready,  // when_unready = "forward": the key set was not ready, written unchecked
};
std::string_view to_string(DuplicateAction action);

struct DuplicateRecord {
    std::chrono::system_clock::time_point time;
    std::string guard;                               // the guard's name
    std::string table;                               // "schema.table"
    std::vector<std::string> columns;                // key columns, key order
    std::vector<std::optional<std::string>> values;  // as text; nullopt = NULL
    DuplicateAction action = DuplicateAction::rejected;
    std::string client;  // "127.0.0.1:5555", "[::1]:5555"
    std::string user;
    std::string database;
    std::string application_name;  // PostgreSQL application_name, MySQL program_name
    bool in_transaction = false;
    // Borrowed, not copied: write() and format_duplicate_line() read it before they return and
    // keep nothing, so one multi-row statement with many duplicate rows is not copied per row.
    std::string_view statement;
    // Optional, borrowed likewise: the statement's digest (statement_digest()), for a caller
    // that logs several rows of one statement and normalises it once. Null: computed here.
    const StatementDigest* digest = nullptr;
    config::Protocol protocol = config::Protocol::postgres;
    // How the session reads string literals, for normalising (statement_text.hpp).
    bool standard_conforming_strings = true;  // PostgreSQL: the session's setting
    bool no_backslash_escapes = false;        // MySQL: SERVER_STATUS_NO_BACKSLASH_ESCAPES
};

struct DuplicateLogOptions {
    bool log_values = true;
    std::string values_key;  // the HMAC key when !log_values
    std::size_t max_statement_bytes = 4096;
    std::size_t max_queue_bytes = std::size_t{64} << 20;
};

// The line for one record, ending in '\n'. Pure; safe from any thread.
std::string format_duplicate_line(const DuplicateRecord& record,
                                  const DuplicateLogOptions& options);

// The normalised statement of a record and its fingerprint, read with the record's dialect and
// string settings.
StatementDigest statement_digest(const DuplicateRecord& record);

// HMAC-SHA256 of `value` under `key`, lower-case hex (64 digits).
std::string hmac_sha256_hex(std::string_view key, std::string_view value);

// Where the writer thread puts lines. Only the writer thread calls it.
class DuplicateLogSink {
  public:
    virtual ~DuplicateLogSink() = default;
    virtual std::error_code write(std::string_view line) = 0;
    virtual std::error_code flush() = 0;
    // Closes and opens the target again (log rotation); on failure the old target stays.
    virtual std::error_code reopen() = 0;
    virtual std::string describe() const = 0;  // for messages: "stdout", the path
};

// "stdout", "stderr", or a file opened for appending (created 0640 if missing: it may hold the
// values of rows). nullptr, with `error` naming the path and the reason, when it cannot be.
std::unique_ptr<DuplicateLogSink> open_duplicate_log_sink(const std::string& target,
                                                          std::string& error);

class DuplicateLog {
  public:
    struct OpenResult {
        std::unique_ptr<DuplicateLog> log;
        std::string error;  // "cannot open duplicate log /path: Permission denied"
        explicit operator bool() const { return log != nullptr; }
    };
    // Errors are values (as config::LoadResult): `serve` turns one into exit status 2.
    static OpenResult open(const std::string& target, DuplicateLogOptions options);

    DuplicateLog(std::unique_ptr<DuplicateLogSink> sink, DuplicateLogOptions options);
    // Writes everything queued, then stops the writer.
    ~DuplicateLog();
    DuplicateLog(const DuplicateLog&) = delete;
    DuplicateLog& operator=(const DuplicateLog&) = delete;

    // Formats the record and queues its line. False when the queue was full (the line is
    // dropped and counted). Thread-safe; never waits for I/O.
    bool write(const DuplicateRecord& record);

    // Returns once every line queued before the call is written and flushed (or failed), and
    // a reopen() asked for before the call is done. For tests and shutdown.
    void flush();

    // Asks the writer to reopen the target before its next line (SIGHUP, after logrotate moved
    // the file). Returns at once; a failure is logged and the old file is kept.
    void reopen();

    const DuplicateLogOptions& options() const { return options_; }

    // Since construction; for metrics.
    std::uint64_t written() const { return written_.load(std::memory_order_relaxed); }
    std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
    std::uint64_t failed() const { return failed_.load(std::memory_order_relaxed); }

  private:
    void run_writer();
    // Writes and flushes; returns the bytes of the batch, for the queue bound.
    std::size_t write_batch(const std::vector<std::string>& batch);

    const DuplicateLogOptions options_;
    std::unique_ptr<DuplicateLogSink> sink_;  // the writer thread's, after construction

    std::mutex mutex_;
    std::condition_variable work_;  // writer: lines, a reopen or stop
    std::condition_variable done_;  // flush(): progress
    std::vector<std::string> queue_;
    std::size_t queued_bytes_ = 0;        // queue_ and the batch being written
    std::uint64_t accepted_ = 0;          // lines queued, ever
    std::uint64_t completed_ = 0;         // lines written or failed, ever
    std::uint64_t unreported_drops_ = 0;  // since the last accepted line
    std::uint64_t drops_to_report_ = 0;   // for the writer to warn about
    std::uint64_t reopens_asked_ = 0;
    std::uint64_t reopens_done_ = 0;
    bool stop_ = false;

    std::atomic<std::uint64_t> written_{0};
    std::atomic<std::uint64_t> dropped_{0};
    std::atomic<std::uint64_t> failed_{0};
    bool failing_ = false;  // writer thread only: in a run of I/O failures

    std::thread writer_;  // last: starts once everything above exists
};

}  // namespace uniqguard::guard
