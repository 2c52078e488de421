#include "config/endpoint.hpp"

#include <charconv>
#include <string>

namespace uniqguard::config {

std::string Endpoint::to_string() const {
    // A host with a colon can only be an IPv6 literal, and needs its brackets back to be
    // told apart from the port.
    if (host.find(':') != std::string::npos) {
        return "[" + host + "]:" + std::to_string(port);
    }
    return host + ":" + std::to_string(port);
}

namespace {

EndpointParse failure(std::string problem) {
    EndpointParse result;
    result.problem = std::move(problem);
    return result;
}

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

bool has_whitespace(std::string_view text) {
    return text.find_first_of(" \t\r\n") != std::string_view::npos;
}

// Splits "[v6]:port" or "host:port" into its host (brackets removed) and port text.
struct HostAndPort {
    std::string_view host;
    std::string_view port;
    std::string problem;
};

HostAndPort split_host_and_port(std::string_view text) {
    HostAndPort parts;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string_view::npos) {
            parts.problem = quoted(text) + " has no closing ']'";
            return parts;
        }
        if (close + 1 >= text.size() || text[close + 1] != ':') {
            parts.problem = quoted(text) + " has no ':port' after ']'";
            return parts;
        }
        parts.host = text.substr(1, close - 1);
        parts.port = text.substr(close + 2);
        if (parts.host.find(':') == std::string_view::npos) {
            parts.problem = quoted(text) + ": brackets are only for IPv6 addresses";
        }
        return parts;
    }
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        parts.problem = quoted(text) + " has no port";
        return parts;
    }
    parts.host = text.substr(0, colon);
    parts.port = text.substr(colon + 1);
    if (parts.host.find(':') != std::string_view::npos) {
        // Without brackets "::1:5432" could be read more than one way.
        parts.problem = quoted(text) + ": an IPv6 address must be written in brackets";
    }
    return parts;
}

}  // namespace

EndpointParse parse_endpoint(std::string_view text) {
    const HostAndPort parts = split_host_and_port(text);
    if (!parts.problem.empty()) return failure(parts.problem);
    if (parts.host.empty()) return failure(quoted(text) + " has no host");
    if (has_whitespace(parts.host)) return failure(quoted(text) + ": the host contains a space");

    const bool all_digits =
        !parts.port.empty() && parts.port.find_first_not_of("0123456789") == std::string_view::npos;
    if (!all_digits) return failure(quoted(text) + ": the port is not a number");
    // Digits only, so from_chars cannot stop early; a huge value overflows, which is out of range.
    unsigned long port = 0;
    const auto parsed =
        std::from_chars(parts.port.data(), parts.port.data() + parts.port.size(), port);
    if (parsed.ec != std::errc() || port < 1 || port > 65535) {
        return failure("port " + std::string(parts.port) + " is out of range");
    }

    EndpointParse result;
    result.endpoint = Endpoint{std::string(parts.host), static_cast<std::uint16_t>(port)};
    return result;
}

}  // namespace uniqguard::config
