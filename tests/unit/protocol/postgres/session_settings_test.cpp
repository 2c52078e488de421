#include "protocol/postgres/session_settings.hpp"

#include <catch2/catch.hpp>

using namespace uniqguard::protocol::postgres;
using uniqguard::util::as_bytes;

namespace {
template <std::size_t N>
bool apply(SessionSettings& s, const char (&literal)[N]) {
    return s.apply_parameter_status(as_bytes(std::string_view(literal, N - 1)));
}
}  // namespace

TEST_CASE("LiteralAffectingSettingsAreTracked", "[session_settings]") {
    SessionSettings s;
    CHECK(apply(s, "client_encoding\0LATIN1\0"));
    CHECK(apply(s, "standard_conforming_strings\0off\0"));
    CHECK(apply(s, "TimeZone\0Europe/Paris\0"));
    CHECK(apply(s, "DateStyle\0SQL, DMY\0"));
    CHECK(apply(s, "application_name\0billing-worker\0"));
    CHECK(s.client_encoding == "LATIN1");
    CHECK_FALSE(s.standard_conforming_strings);
    CHECK(s.time_zone == "Europe/Paris");
    CHECK(s.date_style == "SQL, DMY");
    CHECK(s.application_name == "billing-worker");
    CHECK(apply(s, "standard_conforming_strings\0on\0"));
    CHECK(s.standard_conforming_strings);
}

TEST_CASE("OtherSettingsAreAcceptedAndIgnored", "[session_settings]") {
    SessionSettings s;
    CHECK(apply(s,
                "server_version\0"
                "15.18\0"));
    CHECK(s.client_encoding == "UTF8");
    CHECK(apply(s, "application_name\0\0"));  // empty value is legal
    CHECK(s.application_name.empty());
}

TEST_CASE("MalformedParameterStatusIsRefused", "[session_settings]") {
    SessionSettings s;
    CHECK_FALSE(apply(s, "TimeZone\0UTC"));
    CHECK_FALSE(apply(s, "TimeZone"));
    CHECK_FALSE(apply(s, "TimeZone\0UTC\0extra\0"));
    CHECK(s.time_zone.empty());
}
