// How the loader reports a problem: "FILE:LINE: KEY: problem; allowed: ...".
//
// Only the first problem is kept. The loader goes on reading after a problem (so that its code
// needs no early returns), and whatever it finds afterwards may be a consequence of the first
// one (a tls_cert of the wrong type makes tls_key look unpaired), so later reports are dropped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/loader.hpp"

namespace uniqguard::config {

class Diagnostics {
  public:
    explicit Diagnostics(std::string source_name) : source_name_(std::move(source_name)) {}

    // Records "SOURCE:LINE: KEY: PROBLEM; allowed: ALLOWED" unless a problem is already recorded.
    // An empty `key` drops "KEY: " (syntax errors have no key); an empty `allowed` drops the
    // "; allowed: ..." part (when `problem` already says what to do).
    void report(std::uint32_t line, std::string_view key, std::string_view problem,
                std::string_view allowed);

    bool failed() const { return first_.has_value(); }
    const std::optional<LoadError>& first_error() const { return first_; }
    const std::string& source_name() const { return source_name_; }

  private:
    std::string source_name_;
    std::optional<LoadError> first_;
};

}  // namespace uniqguard::config
