#include "app/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace uniqguard::app {

void setup_logging(const config::Log& log) {
    auto logger = spdlog::stderr_logger_mt("uniqguard");
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::from_str(log.level));
    if (log.format == config::LogFormat::json) {
        // One object per line; messages are written by us and carry no quotes or newlines.
        spdlog::set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","message":"%v"})");
    } else {
        spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %l %v");
    }
    spdlog::flush_on(spdlog::level::info);
}

}  // namespace uniqguard::app
