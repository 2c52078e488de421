#include "config/sections.hpp"

namespace uniqguard::config {

void read_log(const toml::table& table, const ReadContext& context, Log& out) {
    SectionReader reader(table, "log", "[log]", log_keys, context);
    reader.reject_unknown_keys();

    if (auto level = reader.one_of("level", {"trace", "debug", "info", "warn", "error"})) {
        out.level = *level;
    }
    if (auto format = reader.choice<LogFormat>(
            "format", {{"text", LogFormat::text}, {"json", LogFormat::json}})) {
        out.format = *format;
    }
    if (auto duplicates =
            reader.non_empty_string("duplicates", "\"stdout\", \"stderr\" or a file path")) {
        out.duplicates = *duplicates;
    }
    if (auto flag = reader.boolean("log_values")) out.log_values = *flag;
    // Never echoed: it is the HMAC key that keeps logged values unreadable.
    if (auto key =
            reader.non_empty_string("values_key", "a non-empty string, usually \"${VAR}\"")) {
        out.values_key = *key;
    }

    // Without values the duplicate log must still let two lines be matched to the same key,
    // which is what the HMAC of the values is for (SPEC §4).
    if (!out.log_values && !reader.has("values_key")) {
        reader.report("log_values", "false needs log.values_key",
                      "true, or false with values_key set");
    }
}

}  // namespace uniqguard::config
