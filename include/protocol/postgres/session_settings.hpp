// The server-reported settings a session must know (SPEC §3): those that change how a literal
// reads (client_encoding, standard_conforming_strings, TimeZone, DateStyle) and the
// application_name the duplicate log records. Kept from ParameterStatus messages, which the
// server sends at startup and after every SET of a reported setting. Only these are stored: an
// idle session must stay small, and the others do not matter to the proxy.
#pragma once

#include <string>
#include <string_view>

#include "util/bytes.hpp"

namespace uniqguard::protocol::postgres {

struct SessionSettings {
    std::string client_encoding = "UTF8";
    std::string server_encoding = "UTF8";
    bool standard_conforming_strings = true;
    std::string time_zone;
    std::string date_style;
    std::string application_name;

    // Applies one ParameterStatus body (name\0value\0); false when malformed.
    bool apply_parameter_status(util::Bytes body);
};

}  // namespace uniqguard::protocol::postgres
