// uniqguard: a wire-protocol proxy that guards declared unique keys (see docs/).
#include <CLI/CLI.hpp>

#include "app/audit_command.hpp"
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

    // audit and dedupe: --user / --password-env as check (SPEC §6).
    const auto account_options = [](CLI::App* cmd, uniqguard::app::ToolAccount& account) {
        cmd->add_option("--user", account.user, "connect as this user instead of backend.user");
        cmd->add_option("--password-env", account.password_env,
                        "environment variable holding the password");
    };

    uniqguard::app::AuditOptions audit_options;
    std::string audit_format = "text";
    auto* audit = app.add_subcommand("audit", "list the duplicate groups each guard's table holds");
    audit->add_option("-c,--config", audit_options.config_path, "configuration file (TOML)")
        ->required();
    audit->add_option("--guard", audit_options.guard, "only this guard (its name)");
    audit->add_option("--format", audit_format, "text or json")
        ->check(CLI::IsMember({"text", "json"}));
    audit->add_option("--limit", audit_options.limit,
                      "groups listed per guard (default 100; totals are always complete)");
    account_options(audit, audit_options.account);

    uniqguard::app::DedupeOptions dedupe_options;
    std::string keep = "oldest";
    auto* dedupe = app.add_subcommand(
        "dedupe", "remove a guard's duplicate rows into a quarantine table (plan unless --apply)");
    dedupe->add_option("-c,--config", dedupe_options.config_path, "configuration file (TOML)")
        ->required();
    dedupe->add_option("--guard", dedupe_options.guard, "the guard (its name)")->required();
    dedupe->add_option("--keep", keep, "oldest (smallest primary key or --order-by) or newest")
        ->check(CLI::IsMember({"oldest", "newest"}));
    dedupe->add_option("--order-by", dedupe_options.order_by,
                       "column deciding which row is kept (ties: the primary key)");
    dedupe->add_flag("--repoint", dedupe_options.repoint,
                     "move foreign keys pointing at removed rows to the kept row");
    dedupe->add_flag("--apply", dedupe_options.apply, "do it (without: print the plan only)");
    dedupe->add_option("--limit", dedupe_options.limit, "groups listed in the plan (default 100)");
    account_options(dedupe, dedupe_options.account);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // Usage errors exit 2, as a bad configuration does; --help and --version exit 0.
        const int status = app.exit(e);
        return status == 0 ? 0 : 2;
    }
    if (serve->parsed()) return uniqguard::app::serve_command(config_path);
    if (check->parsed()) return uniqguard::app::check_command(check_options);
    if (audit->parsed()) {
        audit_options.json = audit_format == "json";
        return uniqguard::app::audit_command(audit_options);
    }
    if (dedupe->parsed()) {
        dedupe_options.keep_newest = keep == "newest";
        return uniqguard::app::dedupe_command(dedupe_options);
    }
    return 2;
}
