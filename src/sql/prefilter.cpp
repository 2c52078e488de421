#include "sql/prefilter.hpp"

#include <algorithm>

namespace uniqguard::sql {
namespace {

unsigned char fold(unsigned char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c - 'A' + 'a') : c;
}

bool matches_at(std::string_view sql, std::size_t i, std::string_view lower_pattern) {
    if (sql.size() - i < lower_pattern.size()) return false;
    for (std::size_t k = 1; k < lower_pattern.size(); ++k) {
        if (fold(static_cast<unsigned char>(sql[i + k])) !=
            static_cast<unsigned char>(lower_pattern[k])) {
            return false;
        }
    }
    return true;
}

}  // namespace

TableMentionFilter::TableMentionFilter(const std::vector<std::string>& table_names) {
    for (const std::string& name : table_names) {
        if (name.empty()) continue;
        std::string lower(name);
        std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) {
            return static_cast<char>(fold(static_cast<unsigned char>(c)));
        });
        if (std::find(patterns_.begin(), patterns_.end(), lower) == patterns_.end()) {
            patterns_.push_back(std::move(lower));
        }
    }
    tables_ = patterns_.size();
    if (tables_ == 0) return;
    patterns_.emplace_back("u&\"");
    patterns_.emplace_back("execute");
    min_length_ = patterns_.front().size();
    for (std::size_t p = 0; p < patterns_.size(); ++p) {
        const auto first = static_cast<unsigned char>(patterns_[p][0]);
        min_length_ = std::min(min_length_, patterns_[p].size());
        by_first_byte_[first].push_back(static_cast<std::uint16_t>(p));
        if (first >= 'a' && first <= 'z') {
            by_first_byte_[first - 'a' + 'A'].push_back(static_cast<std::uint16_t>(p));
        }
    }
}

bool TableMentionFilter::may_mention(std::string_view sql) const {
    if (tables_ == 0 || sql.size() < min_length_) return false;
    const std::size_t last = sql.size() - min_length_;
    for (std::size_t i = 0; i <= last; ++i) {
        const auto& candidates = by_first_byte_[static_cast<unsigned char>(sql[i])];
        for (const std::uint16_t p : candidates) {
            if (matches_at(sql, i, patterns_[p])) return true;
        }
    }
    return false;
}

}  // namespace uniqguard::sql
