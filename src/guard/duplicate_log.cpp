#include "guard/duplicate_log.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <utility>

namespace uniqguard::guard {
namespace {

namespace json = boost::json;

// "2026-11-26T01:02:03.456Z": RFC 3339 in UTC, milliseconds always written, so that lines sort
// as text.
std::string format_time(std::chrono::system_clock::time_point tp) {
    using namespace std::chrono;
    const auto ms = floor<milliseconds>(tp);
    const auto day = floor<days>(ms);
    const year_month_day ymd{day};
    const hh_mm_ss hms{ms - day};
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                  static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                  static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                  static_cast<int>(hms.subseconds().count()));
    return buf;
}

json::string json_text(std::string_view text) {
    const std::string valid = to_valid_utf8(text);
    return json::string(valid);
}

std::error_code last_error() { return {errno, std::generic_category()}; }

// Opens `path` for appending, creating it 0640 (it may hold row values). nullptr and errno set on
// failure.
std::FILE* open_append(const std::string& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) return nullptr;
    std::FILE* f = ::fdopen(fd, "a");
    if (f == nullptr) {
        const int saved = errno;
        ::close(fd);
        errno = saved;
    }
    return f;
}

// stdout, stderr or a file, through stdio: spdlog writes its own lines to the same FILE*
// (app/logging.cpp), and stdio locks a stream for each fwrite, so a duplicate line and a log
// line sharing stderr never interleave inside a line.
class StreamSink final : public DuplicateLogSink {
  public:
    StreamSink(std::FILE* file, std::string path, bool owned)
        : file_(file), path_(std::move(path)), owned_(owned) {}
    ~StreamSink() override {
        if (owned_) std::fclose(file_);
    }

    std::error_code write(std::string_view line) override {
        std::clearerr(file_);
        if (std::fwrite(line.data(), 1, line.size(), file_) != line.size()) return last_error();
        return {};
    }

    std::error_code flush() override {
        if (std::fflush(file_) != 0) return last_error();
        return {};
    }

    std::error_code reopen() override {
        if (!owned_) return {};  // stdout / stderr: whoever rotates them does it outside
        std::FILE* f = open_append(path_);
        if (f == nullptr) return last_error();
        std::fflush(file_);
        std::fclose(file_);
        file_ = f;
        return {};
    }

    std::string describe() const override { return path_; }

  private:
    std::FILE* file_;
    std::string path_;
    bool owned_;
};

}  // namespace

std::string_view to_string(DuplicateAction action) {
    switch (action) {
        case DuplicateAction::rejected:
            return "rejected";
        case DuplicateAction::ignored:
            return "ignored";
        case DuplicateAction::logged:
            return "logged";
        case DuplicateAction::forwarded_unready:
            return "forwarded_unready";
    }
    return "unknown";
}

std::string hmac_sha256_hex(std::string_view key, std::string_view value) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    // A non-null pointer even for an empty value: HMAC() reads `value.size()` bytes from it.
    static const unsigned char kEmpty = 0;
    const auto* data =
        value.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(value.data());
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data, value.size(), mac,
             &mac_len) == nullptr) {
        // Only on an OpenSSL failure (no SHA-256 provider): show no value rather than throw.
        return {};
    }
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(2 * mac_len);
    for (unsigned int i = 0; i < mac_len; ++i) {
        hex.push_back(kDigits[mac[i] >> 4]);
        hex.push_back(kDigits[mac[i] & 0xF]);
    }
    return hex;
}

StatementDigest statement_digest(const DuplicateRecord& record) {
    StatementDigest d;
    if (record.protocol == config::Protocol::mysql) {
        d.normalized =
            normalize_mysql_statement_text(record.statement, record.no_backslash_escapes);
    } else {
        d.normalized = normalize_statement_text(
            record.statement,
            sql::LexOptions{.standard_conforming_strings = record.standard_conforming_strings});
    }
    d.fingerprint = statement_fingerprint(d.normalized);
    return d;
}

std::string format_duplicate_line(const DuplicateRecord& record,
                                  const DuplicateLogOptions& options) {
    std::optional<StatementDigest> computed;
    if (record.digest == nullptr) computed = statement_digest(record);
    const StatementDigest& digest = record.digest != nullptr ? *record.digest : *computed;

    json::object line;
    line.reserve(17);
    line["time"] = format_time(record.time);
    line["guard"] = json_text(record.guard);
    line["table"] = json_text(record.table);
    json::array columns;
    columns.reserve(record.columns.size());
    for (const auto& c : record.columns) columns.emplace_back(json_text(c));
    line["columns"] = std::move(columns);

    const bool hashed = !options.log_values && !options.values_key.empty();
    if (options.log_values || hashed) {
        json::array values;
        values.reserve(record.values.size());
        for (const auto& v : record.values) {
            if (!v) {
                values.emplace_back(nullptr);
            } else if (hashed) {
                values.emplace_back(hmac_sha256_hex(options.values_key, *v));
            } else {
                values.emplace_back(json_text(*v));
            }
        }
        line["values"] = std::move(values);
        if (hashed) line["values_hmac"] = "sha256";
    } else {
        line["values"] = nullptr;  // no key to hash with: see the header
    }

    line["action"] = to_string(record.action);
    line["client"] = json_text(record.client);
    line["user"] = json_text(record.user);
    line["database"] = json_text(record.database);
    line["application_name"] = json_text(record.application_name);
    line["in_transaction"] = record.in_transaction;

    const std::string_view shown = options.log_values ? record.statement : digest.normalized;
    const std::size_t kept = utf8_prefix_length(shown, options.max_statement_bytes);
    line["statement"] = json_text(shown.substr(0, kept));
    line["truncated"] = kept < shown.size();
    line["statement_fingerprint"] = fingerprint_hex(digest.fingerprint);
    line["protocol"] = record.protocol == config::Protocol::mysql ? "mysql" : "postgres";

    std::string out = json::serialize(line);
    out.push_back('\n');
    return out;
}

std::unique_ptr<DuplicateLogSink> open_duplicate_log_sink(const std::string& target,
                                                          std::string& error) {
    if (target == "stdout") return std::make_unique<StreamSink>(stdout, target, false);
    if (target == "stderr") return std::make_unique<StreamSink>(stderr, target, false);
    std::FILE* f = open_append(target);
    if (f == nullptr) {
        error = "cannot open duplicate log " + target + ": " + last_error().message();
        return nullptr;
    }
    return std::make_unique<StreamSink>(f, target, true);
}

DuplicateLog::OpenResult DuplicateLog::open(const std::string& target,
                                            DuplicateLogOptions options) {
    OpenResult result;
    auto sink = open_duplicate_log_sink(target, result.error);
    if (sink) result.log = std::make_unique<DuplicateLog>(std::move(sink), std::move(options));
    return result;
}

DuplicateLog::DuplicateLog(std::unique_ptr<DuplicateLogSink> sink, DuplicateLogOptions options)
    : options_(std::move(options)), sink_(std::move(sink)), writer_([this] { run_writer(); }) {}

DuplicateLog::~DuplicateLog() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    work_.notify_one();
    writer_.join();
}

bool DuplicateLog::write(const DuplicateRecord& record) {
    std::string line = format_duplicate_line(record, options_);
    const std::size_t size = line.size();
    {
        std::lock_guard lock(mutex_);
        if (queued_bytes_ != 0 && queued_bytes_ + size > options_.max_queue_bytes) {
            ++unreported_drops_;
            dropped_.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        queued_bytes_ += size;
        ++accepted_;
        drops_to_report_ += std::exchange(unreported_drops_, 0);
        queue_.push_back(std::move(line));
    }
    work_.notify_one();
    return true;
}

void DuplicateLog::flush() {
    std::unique_lock lock(mutex_);
    const std::uint64_t lines = accepted_;
    const std::uint64_t reopens = reopens_asked_;
    done_.wait(lock, [&] { return completed_ >= lines && reopens_done_ >= reopens; });
}

void DuplicateLog::reopen() {
    {
        std::lock_guard lock(mutex_);
        ++reopens_asked_;
    }
    work_.notify_one();
}

void DuplicateLog::run_writer() {
    std::vector<std::string> batch;
    std::unique_lock lock(mutex_);
    while (true) {
        work_.wait(lock,
                   [&] { return stop_ || !queue_.empty() || reopens_done_ != reopens_asked_; });
        if (reopens_done_ != reopens_asked_) {
            const std::uint64_t asked = reopens_asked_;
            lock.unlock();
            if (const auto ec = sink_->reopen()) {
                spdlog::error("duplicate log: cannot reopen {}, writing on to the old file: {}",
                              sink_->describe(), ec.message());
            }
            lock.lock();
            reopens_done_ = asked;
            done_.notify_all();
            continue;
        }
        if (queue_.empty()) break;  // stop_, and nothing left to write
        batch.swap(queue_);
        const std::uint64_t drops = std::exchange(drops_to_report_, 0);
        lock.unlock();
        if (drops != 0) {
            spdlog::warn(
                "duplicate log: {} lines dropped: its queue was full ({} bytes); the target "
                "is slower than duplicates arrive",
                drops, options_.max_queue_bytes);
        }
        const std::size_t bytes = write_batch(batch);
        lock.lock();
        queued_bytes_ -= bytes;
        completed_ += batch.size();
        batch.clear();
        done_.notify_all();
    }
    const std::uint64_t drops = unreported_drops_;
    lock.unlock();
    if (drops != 0) {
        spdlog::warn("duplicate log: {} lines dropped before shutdown: its queue was full", drops);
    }
}

std::size_t DuplicateLog::write_batch(const std::vector<std::string>& batch) {
    std::size_t bytes = 0;
    std::uint64_t ok = 0;
    std::error_code error;
    for (const auto& line : batch) {
        bytes += line.size();
        if (const auto ec = sink_->write(line)) {
            error = ec;
        } else {
            ++ok;
        }
    }
    if (const auto ec = sink_->flush()) {
        // What stdio still held is lost with the flush: count the whole batch as failed.
        error = ec;
        ok = 0;
    }
    written_.fetch_add(ok, std::memory_order_relaxed);
    failed_.fetch_add(batch.size() - ok, std::memory_order_relaxed);
    if (error && !failing_) {
        spdlog::error("duplicate log: cannot write to {}: {}; lines are being lost",
                      sink_->describe(), error.message());
        failing_ = true;
    } else if (!error && failing_) {
        spdlog::warn("duplicate log: writing to {} again; {} lines lost so far", sink_->describe(),
                     failed());
        failing_ = false;
    }
    return bytes;
}

}  // namespace uniqguard::guard
