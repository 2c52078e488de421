#include "tool_session.hpp"

#include <cstdio>
#include <cstdlib>

#include "config/loader.hpp"

namespace uniqguard::app::audit {

int fail(const std::string& message) {
    std::fprintf(stderr, "uniqguard: %s\n", message.c_str());
    return exit_error;
}

void print(const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
}

ToolSession open_tool_session(const std::string& config_path, const ToolAccount& account) {
    auto loaded = config::load_file(config_path);
    if (!loaded) throw DbError(loaded.error->message);
    ToolSession s{*loaded.config, loaded.config->backend, nullptr};
    if (account.user) {
        s.backend.user = *account.user;
        s.backend.password.clear();  // the configured password belongs to the configured user
    }
    if (account.password_env) {
        const char* password = std::getenv(account.password_env->c_str());
        if (password == nullptr) {
            throw DbError("--password-env: the environment variable " + *account.password_env +
                          " is not set");
        }
        s.backend.password = password;
    }
    s.db = s.config.listen.protocol == config::Protocol::postgres ? connect_postgres(s.backend)
                                                                  : connect_mysql(s.backend);
    return s;
}

}  // namespace uniqguard::app::audit
