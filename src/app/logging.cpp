#include "app/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace uniqguard::app {

namespace {

void append(spdlog::memory_buf_t& dest, std::string_view text) {
    dest.append(text.data(), text.data() + text.size());
}

// %* in the JSON pattern: the message as the inside of a JSON string. Messages quote table names,
// server errors and client text, so every line must escape them to stay one valid object.
class JsonEscapedMessage final : public spdlog::custom_flag_formatter {
  public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        static constexpr char hex[] = "0123456789abcdef";
        for (const char ch : msg.payload) {
            const auto c = static_cast<unsigned char>(ch);
            switch (c) {
                case '"':
                    append(dest, "\\\"");
                    break;
                case '\\':
                    append(dest, "\\\\");
                    break;
                case '\n':
                    append(dest, "\\n");
                    break;
                case '\r':
                    append(dest, "\\r");
                    break;
                case '\t':
                    append(dest, "\\t");
                    break;
                default:
                    if (c < 0x20) {
                        const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
                        dest.append(esc, esc + sizeof esc);
                    } else {
                        dest.push_back(ch);
                    }
            }
        }
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<JsonEscapedMessage>();
    }
};

}  // namespace

void setup_logging(const config::Log& log) {
    auto logger = spdlog::stderr_logger_mt("uniqguard");
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::from_str(log.level));
    if (log.format == config::LogFormat::json) {
        auto formatter = std::make_unique<spdlog::pattern_formatter>();
        formatter->add_flag<JsonEscapedMessage>('*').set_pattern(
            R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","message":"%*"})");
        spdlog::set_formatter(std::move(formatter));
    } else {
        spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %l %v");
    }
    spdlog::flush_on(spdlog::level::info);
}

}  // namespace uniqguard::app
