#include "guard/mysql_key_set_builder.hpp"

#include "guard/key_fingerprint.hpp"

namespace uniqguard::guard {

namespace {
constexpr std::size_t batch_size = 4096;
}  // namespace

MySqlKeySetBuilder::MySqlKeySetBuilder(const MySqlKeyColumns& columns, bool nulls_distinct,
                                       std::uint64_t seed, KeySet& set)
    : columns_(columns), nulls_distinct_(nulls_distinct), seed_(seed), set_(set) {
    batch_.reserve(batch_size);
}

bool MySqlKeySetBuilder::add_row(std::span<const std::optional<std::string_view>> values) {
    ++stats_.rows;
    bool has_null = false;
    std::size_t bad = 0;
    if (!columns_.encode_stored_row(values, key_, has_null, bad)) {
        const auto& c = columns_.column(bad);
        error_ = "row " + std::to_string(stats_.rows) + ": a value of column \"" + c.name +
                 "\" cannot be read as the server compares it (the proxy cannot compare this "
                 "column's keys)";
        return false;
    }
    if (has_null) {
        ++stats_.rows_with_null;
        if (nulls_distinct_) return true;
    }
    batch_.push_back(fingerprint_encoded_key(key_, seed_));
    if (batch_.size() == batch_size) flush();
    return true;
}

void MySqlKeySetBuilder::flush() {
    stats_.distinct_fingerprints += set_.add_many(batch_);
    batch_.clear();
}

MySqlLoadStats MySqlKeySetBuilder::finish() {
    flush();
    stats_.elapsed = std::chrono::steady_clock::now() - started_;
    stats_.memory_bytes = set_.memory_bytes();
    return stats_;
}

}  // namespace uniqguard::guard
