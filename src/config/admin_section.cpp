#include "config/sections.hpp"

namespace uniqguard::config {

void read_admin(const toml::table& table, const ReadContext& context, Admin& out) {
    SectionReader reader(table, "admin", "[admin]", admin_keys, context);
    reader.reject_unknown_keys();

    if (auto address = reader.endpoint("address")) out.address = *address;
    // An empty token would make "token set" and "no protection" the same thing; refuse it.
    if (auto token = reader.non_empty_string("token", "a non-empty string, usually \"${VAR}\"")) {
        out.token = *token;
    }
}

}  // namespace uniqguard::config
