// PostgreSQL 15's numeric as the key normalizer needs it: read from numeric_in's text and
// numeric_recv's binary form, rounded or truncated as the server does, checked against a
// numeric(p,s) typmod, converted to an integer as numeric_int4/8 do, printed as numeric_out
// does. Decimal digits in a string: keys are short, and the server's base-10000 digits are a
// storage detail that equality does not see.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "guard/column_type.hpp"
#include "util/bytes.hpp"

namespace uniqguard::guard::detail {

enum class Parse : std::uint8_t { ok, invalid, unsure };

struct Numeric {
    enum class Kind : std::uint8_t { finite, nan, pos_inf, neg_inf };
    Kind kind = Kind::finite;
    bool negative = false;
    // Significant decimal digits, no leading or trailing '0'; empty for zero.
    std::string digits;
    // value = 0.digits × 10^exponent (0 when zero).
    std::int64_t exponent = 0;
    // Display scale: digits after the point that numeric_out prints.
    std::int64_t dscale = 0;

    bool is_zero() const { return kind == Kind::finite && digits.empty(); }
};

// numeric_in (typmod -1). `text` must not contain NUL.
Parse parse_numeric_text(std::string_view text, Numeric& out);
// numeric_recv (typmod -1): checks the header, sign and digits; truncates to dscale.
Parse parse_numeric_binary(util::Bytes value, Numeric& out);
Numeric numeric_from_int(std::int64_t v);

// apply_typmod / apply_typmod_special for numeric(p,s); a no-op when precision < 0. Then the
// checks make_result does on the stored form.
Parse apply_numeric_typmod(Numeric& n, const ColumnType& type);

// numericvar_to_int64 after round_var(0): NaN and infinities are errors (invalid).
Parse numeric_to_int64(const Numeric& n, std::int64_t& out);

// numeric_out.
std::string numeric_to_text(const Numeric& n);

// The canonical key bytes (see key_normalizer.hpp).
void append_numeric_key(const Numeric& n, std::string& out);

}  // namespace uniqguard::guard::detail
