#include "mysql_number_literal.hpp"

namespace uniqguard::guard::mysql_number {

namespace {
bool is_digit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

std::optional<Decimal> read(std::string_view s, bool allow_exponent) {
    Decimal d;
    std::size_t at = 0;
    if (at < s.size() && (s[at] == '+' || s[at] == '-')) d.negative = s[at++] == '-';
    std::size_t mantissa_digits = 0;
    std::int64_t fraction_digits = 0;
    for (; at < s.size() && is_digit(s[at]); ++at, ++mantissa_digits) d.digits += s[at];
    if (at < s.size() && s[at] == '.') {
        for (++at; at < s.size() && is_digit(s[at]); ++at, ++mantissa_digits, ++fraction_digits)
            d.digits += s[at];
    }
    if (mantissa_digits == 0) return std::nullopt;
    std::int64_t exponent = 0;
    if (at < s.size() && (s[at] == 'e' || s[at] == 'E')) {
        if (!allow_exponent) return std::nullopt;
        ++at;
        bool negative_exponent = false;
        if (at < s.size() && (s[at] == '+' || s[at] == '-')) negative_exponent = s[at++] == '-';
        if (at == s.size()) return std::nullopt;
        for (; at < s.size() && is_digit(s[at]); ++at) {
            exponent = exponent * 10 + (s[at] - '0');
            if (exponent > 100000) return std::nullopt;  // far outside any column's range
        }
        if (negative_exponent) exponent = -exponent;
    }
    if (at != s.size()) return std::nullopt;
    d.exponent = exponent - fraction_digits;
    const auto first = d.digits.find_first_not_of('0');
    d.digits.erase(0, first == std::string::npos ? d.digits.size() : first);
    return d;
}

std::optional<Decimal> read_string(std::string_view s) {
    constexpr std::string_view blanks = " \t\r\n";
    const auto first = s.find_first_not_of(blanks);
    if (first == std::string_view::npos) return std::nullopt;
    return read(s.substr(first, s.find_last_not_of(blanks) - first + 1), true);
}

std::optional<std::string> round_scaled(const Decimal& d, int decimals, Rounding rounding,
                                        std::size_t max_digits) {
    std::string whole = d.digits;
    std::string dropped;  // the digits after the (scaled) decimal point
    const std::int64_t exponent = d.exponent + decimals;
    if (exponent >= 0) {
        if (!whole.empty()) {
            if (whole.size() + static_cast<std::size_t>(exponent) > max_digits) return std::nullopt;
            whole.append(static_cast<std::size_t>(exponent), '0');
        }
    } else {
        const auto shift = static_cast<std::size_t>(-exponent);
        if (shift >= whole.size()) {
            dropped = std::string(shift - whole.size(), '0') + whole;
            whole.clear();
        } else {
            dropped = whole.substr(whole.size() - shift);
            whole.resize(whole.size() - shift);
        }
    }
    if (!dropped.empty() && dropped[0] >= '5') {
        const bool exactly_half =
            dropped[0] == '5' && dropped.find_first_not_of('0', 1) == std::string::npos;
        const bool odd = !whole.empty() && (whole.back() - '0') % 2 == 1;
        if (!exactly_half || rounding == Rounding::half_away_from_zero || odd) {
            // Add one to the decimal digits.
            std::size_t i = whole.size();
            while (i > 0 && whole[i - 1] == '9') whole[--i] = '0';
            if (i == 0)
                whole.insert(whole.begin(), '1');
            else
                ++whole[i - 1];
        }
    }
    if (whole.size() > max_digits) return std::nullopt;
    return whole;
}

bool double_is_exact_enough(const Decimal& d) {
    const auto last = d.digits.find_last_not_of('0');
    const std::size_t significant = last == std::string::npos ? 0 : last + 1;
    if (significant > 15) return false;
    const auto integer_digits = static_cast<std::int64_t>(d.digits.size()) + d.exponent;
    return integer_digits <= 15;
}

bool string_is_exact_enough(const Decimal& d) { return d.digits.size() <= 18; }

}  // namespace uniqguard::guard::mysql_number
