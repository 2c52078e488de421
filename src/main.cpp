// uniqguard: a wire-protocol proxy that guards declared unique keys (see docs/).
#include <CLI/CLI.hpp>

#include "app/check_command.hpp"
#include "app/serve_command.hpp"

int main(int argc, char** argv) {
    CLI::App app{"uniqguard: a PostgreSQL and MySQL proxy that enforces declared unique keys",
                 "uniqguard"};
    app.set_version_flag("--version", std::string("uniqguard ") + UNIQGUARD_VERSION);
    app.require_subcommand(1);

    std::string config_path;
    auto* serve = app.add_subcommand("serve", "run the proxy until SIGINT/SIGTERM");
    serve->add_option("-c,--config", config_path, "configuration file (TOML)")->required();

    uniqguard::app::CheckOptions check_options;
    auto* check =
        app.add_subcommand("check", "check the guards against the backend's catalog and data");
    check->add_option("-c,--config", check_options.config_path, "configuration file (TOML)")
        ->required();
    check->add_option("--user", check_options.user, "connect as this user instead of backend.user");
    check->add_option("--password-env", check_options.password_env,
                      "environment variable holding the password");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // Usage errors exit 2, as a bad configuration does; --help and --version exit 0.
        const int status = app.exit(e);
        return status == 0 ? 0 : 2;
    }
    if (serve->parsed()) return uniqguard::app::serve_command(config_path);
    if (check->parsed()) return uniqguard::app::check_command(check_options);
    return 2;
}
