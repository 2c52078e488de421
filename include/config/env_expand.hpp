// ${VAR} expansion of configuration strings (SPEC §2: "${VAR} is read from the environment").
//
// Rules: "${NAME}" (NAME = a letter or '_', then letters, digits, '_') is replaced by the value
// of NAME; an unset NAME is an error. A '$' not followed by '{' stays as it is, and "$$" is not
// an escape. A "${" that does not start a well-formed reference is an error rather than literal
// text, so that a typo never silently becomes part of a password; a value that really contains
// "${" can be put in an environment variable, because expanded values are not expanded again.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/loader.hpp"

namespace uniqguard::config {

// Exactly one of `value` / `problem` is meaningful: `problem` is set when `value` is not.
// `problem` never contains the text being expanded nor any variable's value, since the text may
// be a secret (backend.password, admin.token, log.values_key).
struct Expansion {
    std::optional<std::string> value;
    std::string problem;
};

Expansion expand_env(std::string_view text, const EnvLookup& env);

}  // namespace uniqguard::config
