// normalize_keys: the guard's key normalizer on the command line, for the differential test
// against the real server (tests/integration/test_key_equality.py).
//
// Reads lines from stdin, writes one line per input line to stdout:
//   TYPE <TAB> FORMAT <TAB> VALUE
//       TYPE    a catalog type name as column_type_from_catalog reads it ("int4",
//               "numeric(10,2)", "character varying(3)"); "COLUMN|SOURCE" reads the value as
//               a parameter declared SOURCE assigned to a COLUMN column ("int4|numeric").
//       FORMAT  text | binary-hex | sql-number
//       VALUE   text: backslash escapes \\ \t \n \r; binary-hex: hex digits; \N alone: NULL
//     → the canonical key bytes in lower-case hex (an empty value prints as "-"), or
//       NULL / INVALID / UNSURE, or "ERROR <reason>" for a line it cannot read.
//   SET <TAB> TimeZone|DateStyle|server_utf8 <TAB> VALUE   → "SET"
//     (the session starts as the server's defaults: TimeZone UTC, DateStyle "ISO, MDY")
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "guard/column_type.hpp"
#include "guard/key_normalizer.hpp"

namespace {

using namespace uniqguard::guard;

std::vector<std::string_view> split_tabs(std::string_view line, std::size_t max_fields) {
    std::vector<std::string_view> out;
    while (out.size() + 1 < max_fields) {
        const auto tab = line.find('\t');
        if (tab == std::string_view::npos) break;
        out.push_back(line.substr(0, tab));
        line.remove_prefix(tab + 1);
    }
    out.push_back(line);
    return out;
}

bool unescape(std::string_view in, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '\\') {
            out.push_back(in[i]);
            continue;
        }
        if (++i >= in.size()) return false;
        switch (in[i]) {
            case '\\':
                out.push_back('\\');
                break;
            case 't':
                out.push_back('\t');
                break;
            case 'n':
                out.push_back('\n');
                break;
            case 'r':
                out.push_back('\r');
                break;
            default:
                return false;
        }
    }
    return true;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool unhex(std::string_view in, std::string& out) {
    out.clear();
    if (in.size() % 2 != 0) return false;
    for (std::size_t i = 0; i < in.size(); i += 2) {
        const int hi = hex_digit(in[i]), lo = hex_digit(in[i + 1]);
        if (hi < 0 || lo < 0) return false;
        out.push_back(static_cast<char>(hi * 16 + lo));
    }
    return true;
}

std::string to_hex(std::string_view bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    if (bytes.empty()) return "-";
    std::string s;
    s.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        s.push_back(kHex[c >> 4]);
        s.push_back(kHex[c & 15]);
    }
    return s;
}

std::string describe(const NormalizedValue& v) {
    switch (v.status) {
        case NormalizeStatus::ok:
            return to_hex(v.bytes);
        case NormalizeStatus::null:
            return "NULL";
        case NormalizeStatus::invalid:
            return "INVALID";
        case NormalizeStatus::cannot_normalize:
            return "UNSURE";
    }
    return "ERROR status";
}

std::string handle(std::string_view line, SessionContext& session) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const auto f = split_tabs(line, 3);
    if (f.size() != 3) return "ERROR expected three tab-separated fields";
    if (f[0] == "SET") {
        if (f[1] == "TimeZone") {
            session.utc_offset_seconds = utc_offset_from_timezone(f[2]);
        } else if (f[1] == "DateStyle") {
            session.date_order = date_order_from_datestyle(f[2]);
        } else if (f[1] == "server_utf8") {
            session.server_utf8 = f[2] == "on" || f[2] == "true" || f[2] == "1";
        } else {
            return "ERROR unknown setting";
        }
        return "SET";
    }
    std::string_view column_name = f[0], source_name = f[0];
    if (const auto bar = f[0].find('|'); bar != std::string_view::npos) {
        column_name = f[0].substr(0, bar);
        source_name = f[0].substr(bar + 1);
    }
    const auto column = column_type_from_catalog(column_name, true);
    const auto source = column_type_from_catalog(source_name, true);
    if (!column || !source) return "ERROR unsupported type";
    if (f[2] == "\\N") return describe(NormalizedValue::null());
    std::string value;
    if (f[1] == "text") {
        if (!unescape(f[2], value)) return "ERROR bad escape";
        return describe(normalize_text(*column, *source, value, session));
    }
    if (f[1] == "binary-hex") {
        if (!unhex(f[2], value)) return "ERROR bad hex";
        return describe(
            normalize_binary(*column, *source, uniqguard::util::as_bytes(value), session));
    }
    if (f[1] == "sql-number") return describe(normalize_sql_number(*column, f[2]));
    return "ERROR unknown format";
}

}  // namespace

int main() {
    std::ios::sync_with_stdio(false);
    SessionContext session = SessionContext::from_settings("UTC", "ISO, MDY");
    std::string line;
    std::string out;
    while (std::getline(std::cin, line)) {
        out += handle(line, session);
        out += '\n';
        if (out.size() > (1 << 16)) {
            std::cout << out;
            out.clear();
        }
    }
    std::cout << out << std::flush;
    return 0;
}
