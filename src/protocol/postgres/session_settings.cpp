#include "protocol/postgres/session_settings.hpp"

namespace uniqguard::protocol::postgres {

bool SessionSettings::apply_parameter_status(util::Bytes body) {
    const auto text = util::as_chars(body);
    const auto nul = text.find('\0');
    if (nul == std::string_view::npos) return false;
    const auto name = text.substr(0, nul);
    const auto rest = text.substr(nul + 1);
    if (rest.empty() || rest.find('\0') != rest.size() - 1) return false;
    const auto value = rest.substr(0, rest.size() - 1);
    if (name == "client_encoding") {
        client_encoding = value;
    } else if (name == "server_encoding") {
        server_encoding = value;
    } else if (name == "standard_conforming_strings") {
        standard_conforming_strings = value == "on";
    } else if (name == "TimeZone") {
        time_zone = value;
    } else if (name == "DateStyle") {
        date_style = value;
    } else if (name == "application_name") {
        application_name = value;
    }
    return true;
}

}  // namespace uniqguard::protocol::postgres
