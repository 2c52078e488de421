#include "pg_numeric.hpp"

#include <algorithm>
#include <limits>

#include "pg_text.hpp"

namespace uniqguard::guard::detail {
namespace {

constexpr std::uint16_t kSignPos = 0x0000;
constexpr std::uint16_t kSignNeg = 0x4000;
constexpr std::uint16_t kSignNaN = 0xC000;
constexpr std::uint16_t kSignPinf = 0xD000;
constexpr std::uint16_t kSignNinf = 0xF000;
constexpr std::uint16_t kDscaleMask = 0x3FFF;  // NUMERIC_DSCALE_MASK
constexpr int kNBase = 10000;
constexpr std::int64_t kExponentLimit = std::numeric_limits<int>::max() / 2;  // set_var_from_str
// Beyond these the stored form overflows its int16 weight (make_result); we leave the exact
// edge to the server.
constexpr std::int64_t kSafeExponent = 4 * 32000;

void set_zero(Numeric& n) {
    n.kind = Numeric::Kind::finite;
    n.negative = false;
    n.digits.clear();
    n.exponent = 0;
}

// Strips leading zeros (moving the exponent) and trailing zeros; zero becomes canonical zero.
void normalize(Numeric& n) {
    std::size_t lead = 0;
    while (lead < n.digits.size() && n.digits[lead] == '0') ++lead;
    if (lead == n.digits.size()) {
        set_zero(n);
        return;
    }
    n.digits.erase(0, lead);
    n.exponent -= static_cast<std::int64_t>(lead);
    std::size_t end = n.digits.size();
    while (n.digits[end - 1] == '0') --end;
    n.digits.resize(end);
}

// Keeps the digits of weight >= 10^-scale; round_var when `round`, trunc_var otherwise.
void cut_to_scale(Numeric& n, std::int64_t scale, bool round) {
    if (n.kind != Numeric::Kind::finite || n.digits.empty()) return;
    const std::int64_t keep = n.exponent + scale;
    if (keep >= static_cast<std::int64_t>(n.digits.size())) return;
    if (keep < 0) {
        set_zero(n);
        return;
    }
    const bool up = round && n.digits[static_cast<std::size_t>(keep)] >= '5';
    n.digits.resize(static_cast<std::size_t>(keep));
    if (up) {
        std::size_t i = n.digits.size();
        while (i > 0 && n.digits[i - 1] == '9') {
            n.digits[i - 1] = '0';
            --i;
        }
        if (i == 0) {
            n.digits.insert(n.digits.begin(), '1');
            ++n.exponent;
        } else {
            ++n.digits[i - 1];
        }
    }
    normalize(n);
}

bool starts_with_nocase(std::string_view s, std::string_view word) {
    if (s.size() < word.size()) return false;
    for (std::size_t i = 0; i < word.size(); ++i) {
        if (ascii_lower(s[i]) != ascii_lower(word[i])) return false;
    }
    return true;
}

}  // namespace

Parse parse_numeric_text(std::string_view s, Numeric& out) {
    out = Numeric{};
    std::size_t i = 0;
    while (i < s.size() && pg_isspace(s[i])) ++i;
    const std::string_view rest = s.substr(i);

    // The same spellings as float8in, checked in numeric_in's order.
    struct Special {
        std::string_view word;
        Numeric::Kind kind;
    };
    static constexpr Special kSpecials[] = {
        {"NaN", Numeric::Kind::nan},           {"Infinity", Numeric::Kind::pos_inf},
        {"+Infinity", Numeric::Kind::pos_inf}, {"-Infinity", Numeric::Kind::neg_inf},
        {"inf", Numeric::Kind::pos_inf},       {"+inf", Numeric::Kind::pos_inf},
        {"-inf", Numeric::Kind::neg_inf},
    };
    for (const auto& sp : kSpecials) {
        if (starts_with_nocase(rest, sp.word)) {
            if (!all_pg_space(rest.substr(sp.word.size()))) return Parse::invalid;
            out.kind = sp.kind;
            return Parse::ok;
        }
    }

    // set_var_from_str
    std::size_t p = i;
    if (p < s.size() && (s[p] == '+' || s[p] == '-')) {
        out.negative = s[p] == '-';
        ++p;
    }
    bool have_dp = false;
    if (p < s.size() && s[p] == '.') {
        have_dp = true;
        ++p;
    }
    if (p >= s.size() || !is_digit(s[p])) return Parse::invalid;
    std::int64_t int_digits = 0;
    std::int64_t frac_digits = 0;
    while (p < s.size()) {
        if (is_digit(s[p])) {
            out.digits.push_back(s[p]);
            ++(have_dp ? frac_digits : int_digits);
            ++p;
        } else if (s[p] == '.') {
            if (have_dp) return Parse::invalid;
            have_dp = true;
            ++p;
        } else {
            break;
        }
    }
    std::int64_t exponent = 0;
    if (p < s.size() && (s[p] == 'e' || s[p] == 'E')) {
        ++p;
        // strtol: blanks, a sign, then at least one digit; saturating on overflow.
        while (p < s.size() && pg_isspace(s[p])) ++p;
        bool neg = false;
        if (p < s.size() && (s[p] == '+' || s[p] == '-')) {
            neg = s[p] == '-';
            ++p;
        }
        if (p >= s.size() || !is_digit(s[p])) return Parse::invalid;
        while (p < s.size() && is_digit(s[p])) {
            if (exponent < kExponentLimit) exponent = exponent * 10 + (s[p] - '0');
            ++p;
        }
        if (exponent >= kExponentLimit) return Parse::invalid;  // "value out of range"
        if (neg) exponent = -exponent;
    }
    if (!all_pg_space(s.substr(p))) return Parse::invalid;

    out.dscale = std::max<std::int64_t>(0, frac_digits - exponent);
    out.exponent = int_digits + exponent;
    normalize(out);
    return Parse::ok;
}

Parse parse_numeric_binary(util::Bytes v, Numeric& out) {
    out = Numeric{};
    if (v.size() < 8) return Parse::invalid;
    const std::uint16_t ndigits = util::read_u16_be(v.data());
    const auto weight = static_cast<std::int16_t>(util::read_u16_be(v.data() + 2));
    const std::uint16_t sign = util::read_u16_be(v.data() + 4);
    const std::uint16_t dscale = util::read_u16_be(v.data() + 6);
    if (v.size() != 8 + 2 * std::size_t{ndigits}) return Parse::invalid;
    if (sign != kSignPos && sign != kSignNeg && sign != kSignNaN && sign != kSignPinf &&
        sign != kSignNinf) {
        return Parse::invalid;
    }
    if ((dscale & kDscaleMask) != dscale) return Parse::invalid;
    out.digits.reserve(4 * std::size_t{ndigits});
    for (std::size_t k = 0; k < ndigits; ++k) {
        const auto d = static_cast<std::int16_t>(util::read_u16_be(v.data() + 8 + 2 * k));
        if (d < 0 || d >= kNBase) return Parse::invalid;
        const char group[4] = {
            static_cast<char>('0' + d / 1000), static_cast<char>('0' + d / 100 % 10),
            static_cast<char>('0' + d / 10 % 10), static_cast<char>('0' + d % 10)};
        out.digits.append(group, 4);
    }
    if (sign == kSignNaN || sign == kSignPinf || sign == kSignNinf) {
        out.digits.clear();
        out.kind = sign == kSignNaN    ? Numeric::Kind::nan
                   : sign == kSignPinf ? Numeric::Kind::pos_inf
                                       : Numeric::Kind::neg_inf;
        return Parse::ok;
    }
    out.negative = sign == kSignNeg;
    out.exponent = 4 * (std::int64_t{weight} + 1);
    out.dscale = dscale;
    normalize(out);
    cut_to_scale(out, dscale, false);  // digits the dscale hides are dropped (trunc_var)
    return Parse::ok;
}

Numeric numeric_from_int(std::int64_t v) {
    Numeric n;
    n.negative = v < 0;
    // The magnitude as unsigned, INT64_MIN included.
    std::uint64_t mag =
        n.negative ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
    n.digits = std::to_string(mag);
    n.exponent = static_cast<std::int64_t>(n.digits.size());
    normalize(n);
    return n;
}

Parse apply_numeric_typmod(Numeric& n, const ColumnType& type) {
    if (n.kind != Numeric::Kind::finite) {
        // apply_typmod_special: NaN fits any numeric(p,s); an infinity fits none.
        if (type.precision >= 0 && n.kind != Numeric::Kind::nan) return Parse::invalid;
        return Parse::ok;
    }
    if (type.precision >= 0) {
        cut_to_scale(n, type.scale, true);
        n.dscale = std::max<std::int64_t>(type.scale, 0);
        // Decimal digits before the point must fit precision - scale (exponent counts them).
        if (!n.is_zero() && n.exponent > type.precision - type.scale) return Parse::invalid;
    }
    // make_result: dscale must fit its 14 bits; the weight its int16 (left to the server near
    // the edge).
    if (n.dscale > kDscaleMask) return Parse::unsure;
    if (!n.is_zero() && (n.exponent > kSafeExponent || n.exponent < -kSafeExponent)) {
        return Parse::unsure;
    }
    return Parse::ok;
}

Parse numeric_to_int64(const Numeric& in, std::int64_t& out) {
    if (in.kind != Numeric::Kind::finite) return Parse::invalid;  // "cannot convert NaN to ..."
    Numeric n = in;
    cut_to_scale(n, 0, true);
    if (n.is_zero()) {
        out = 0;
        return Parse::ok;
    }
    if (n.exponent > 19) return Parse::invalid;
    std::string whole = n.digits;
    whole.resize(static_cast<std::size_t>(n.exponent), '0');
    if (whole.size() == 19) {
        const std::string_view limit = n.negative ? "9223372036854775808" : "9223372036854775807";
        if (whole > limit) return Parse::invalid;
    }
    std::uint64_t mag = 0;
    for (char c : whole) mag = mag * 10 + static_cast<std::uint64_t>(c - '0');
    out = n.negative ? static_cast<std::int64_t>(0 - mag) : static_cast<std::int64_t>(mag);
    return Parse::ok;
}

std::string numeric_to_text(const Numeric& n) {
    switch (n.kind) {
        case Numeric::Kind::nan:
            return "NaN";
        case Numeric::Kind::pos_inf:
            return "Infinity";
        case Numeric::Kind::neg_inf:
            return "-Infinity";
        case Numeric::Kind::finite:
            break;
    }
    std::string s;
    if (n.negative && !n.is_zero()) s.push_back('-');
    const auto digit_at = [&](std::int64_t k) {
        return k >= 0 && k < static_cast<std::int64_t>(n.digits.size())
                   ? n.digits[static_cast<std::size_t>(k)]
                   : '0';
    };
    if (n.is_zero() || n.exponent <= 0) {
        s.push_back('0');
    } else {
        for (std::int64_t k = 0; k < n.exponent; ++k) s.push_back(digit_at(k));
    }
    if (n.dscale > 0) {
        s.push_back('.');
        for (std::int64_t j = 0; j < n.dscale; ++j) {
            s.push_back(n.is_zero() ? '0' : digit_at(n.exponent + j));
        }
    }
    return s;
}

void append_numeric_key(const Numeric& n, std::string& out) {
    switch (n.kind) {
        case Numeric::Kind::nan:
            out.push_back('N');
            return;
        case Numeric::Kind::pos_inf:
            out.push_back('I');
            return;
        case Numeric::Kind::neg_inf:
            out.push_back('i');
            return;
        case Numeric::Kind::finite:
            break;
    }
    if (n.is_zero()) {
        out.push_back('0');
        return;
    }
    out.push_back(n.negative ? '-' : '+');
    const auto e = static_cast<std::uint32_t>(static_cast<std::int32_t>(n.exponent));
    const char be[4] = {static_cast<char>(e >> 24), static_cast<char>(e >> 16),
                        static_cast<char>(e >> 8), static_cast<char>(e)};
    out.append(be, 4);
    out += n.digits;
}

}  // namespace uniqguard::guard::detail
