#include "guard/collation_weights.hpp"

#include <cstdio>

namespace uniqguard::guard {

namespace {

// The next code point of `s` at `at` (advanced), or nullopt for invalid UTF-8: overlong forms,
// surrogates and values past U+10FFFF are refused, as MariaDB's utf8mb4 refuses them.
std::optional<char32_t> next_code_point(std::string_view s, std::size_t& at) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char lead = byte(at);
    std::size_t length = 0;
    char32_t cp = 0;
    if (lead < 0x80) {
        ++at;
        return lead;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
        cp = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        cp = lead & 0x0F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        cp = lead & 0x07;
    } else {
        return std::nullopt;
    }
    if (s.size() - at < length) return std::nullopt;
    for (std::size_t i = 1; i < length; ++i) {
        const unsigned char c = byte(at + i);
        if ((c & 0xC0) != 0x80) return std::nullopt;
        cp = (cp << 6) | (c & 0x3F);
    }
    const char32_t smallest = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
    if (cp < smallest || cp > CollationWeights::max_code_point || (cp >= 0xD800 && cp <= 0xDFFF))
        return std::nullopt;
    at += length;
    return cp;
}

}  // namespace

CollationWeights::CollationWeights(bool pad_space) : pad_space_(pad_space) {
    offsets_.reserve(max_code_point + 2);
    present_.reserve(max_code_point + 1);
}

void CollationWeights::add(char32_t cp, std::string_view weight) {
    if (cp < next_ || cp > max_code_point) return;  // out of order: ignored
    // Code points skipped since the last one have no weight.
    while (next_ < cp) {
        offsets_.push_back(static_cast<std::uint32_t>(weights_.size()));
        present_.push_back(false);
        ++next_;
    }
    offsets_.push_back(static_cast<std::uint32_t>(weights_.size()));
    present_.push_back(true);
    weights_ += weight;
    ++next_;
}

bool CollationWeights::finish(std::string& error) {
    while (next_ <= max_code_point) {
        offsets_.push_back(static_cast<std::uint32_t>(weights_.size()));
        present_.push_back(false);
        ++next_;
    }
    offsets_.push_back(static_cast<std::uint32_t>(weights_.size()));
    weights_.shrink_to_fit();
    if (!present_[U' ']) {
        error = "the server gave no weight for the space";
        return false;
    }
    space_ = weights_.substr(offsets_[U' '], offsets_[U' ' + 1] - offsets_[U' ']);
    if (space_.empty()) {
        error = "the space has an empty weight";
        return false;
    }
    if (pad_space_) {
        // Trailing spaces are cut from the key weight by weight, which needs every weight to be
        // whole units of the space's width.
        for (char32_t cp = 0; cp <= max_code_point; ++cp) {
            if ((offsets_[cp + 1] - offsets_[cp]) % space_.size() != 0) {
                char name[16];
                std::snprintf(name, sizeof name, "U+%04X", static_cast<unsigned>(cp));
                error = "the weight of " + std::string(name) + " is not a whole number of " +
                        std::to_string(space_.size()) + "-byte units";
                return false;
            }
        }
    }
    return true;
}

std::optional<std::string> CollationWeights::key(std::string_view utf8) const {
    std::string key;
    key.reserve(utf8.size() * 2);
    for (std::size_t at = 0; at < utf8.size();) {
        const auto cp = next_code_point(utf8, at);
        if (!cp || *cp >= present_.size() || !present_[*cp]) return std::nullopt;
        key.append(weights_, offsets_[*cp], offsets_[*cp + 1] - offsets_[*cp]);
    }
    if (pad_space_) {
        // PAD SPACE compares a shorter string as if padded with spaces: the space's weights at
        // the end (a character weighing as a space included) do not count.
        while (key.size() >= space_.size() &&
               std::string_view(key).substr(key.size() - space_.size()) == space_)
            key.resize(key.size() - space_.size());
    }
    return key;
}

std::size_t CollationWeights::memory_bytes() const {
    return weights_.capacity() + offsets_.capacity() * sizeof(std::uint32_t) +
           present_.capacity() / 8 + sizeof(*this);
}

}  // namespace uniqguard::guard
