#include "admin/prometheus_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

namespace uniqguard::admin {

namespace {

// Shortest text that reads back as the same double ("0.0000025", "1e-05"), as Prometheus's own
// client libraries write floats.
std::string number(double v) { return fmt::format("{}", v); }

class Writer {
  public:
    void family(std::string_view name, std::string_view type, std::string_view help) {
        fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name,
                       type);
    }
    void sample(std::string_view name, std::string_view labels, std::string_view value) {
        if (labels.empty())
            fmt::format_to(std::back_inserter(out_), "{} {}\n", name, value);
        else
            fmt::format_to(std::back_inserter(out_), "{}{{{}}} {}\n", name, labels, value);
    }
    void sample(std::string_view name, std::string_view labels, std::uint64_t value) {
        sample(name, labels, std::to_string(value));
    }
    std::string take() { return std::move(out_); }

  private:
    std::string out_;
};

std::string label(std::string_view key, std::string_view value) {
    return fmt::format("{}=\"{}\"", key, escape_label_value(value));
}

void histogram(Writer& w, std::string_view name, const std::string& labels,
               const HistogramSnapshot& h) {
    std::uint64_t cumulative = 0;
    const std::string prefix = labels.empty() ? "" : labels + ",";
    for (std::size_t i = 0; i < h.upper_bounds_seconds.size(); ++i) {
        cumulative += h.buckets[i];
        w.sample(fmt::format("{}_bucket", name),
                 prefix + label("le", number(h.upper_bounds_seconds[i])), cumulative);
    }
    cumulative += h.buckets.back();
    w.sample(fmt::format("{}_bucket", name), prefix + label("le", "+Inf"), cumulative);
    w.sample(fmt::format("{}_sum", name), labels, number(h.sum_seconds));
    w.sample(fmt::format("{}_count", name), labels, cumulative);
}

void guard_metrics(Writer& w, const std::vector<GuardSnapshot>& guards) {
    if (guards.empty()) return;
    w.family("uniqguard_guard_outcomes_total", "counter",
             "Guarded writes by guard and outcome: passed (no duplicate), rejected, ignored "
             "(duplicate rows skipped), logged, refused (a form not enforced, or the key set not "
             "ready under when_unready = refuse), forwarded_unready.");
    for (const auto& g : guards) {
        const auto& c = g.counters;
        const std::pair<const char*, std::uint64_t> outcomes[] = {
            {"passed", c.passed},   {"rejected", c.rejected},
            {"ignored", c.ignored}, {"logged", c.logged},
            {"refused", c.refused}, {"forwarded_unready", c.forwarded_unready}};
        for (const auto& [outcome, value] : outcomes)
            w.sample("uniqguard_guard_outcomes_total",
                     label("guard", g.name) + "," + label("outcome", outcome), value);
    }
    w.family("uniqguard_guard_shape_passes_total", "counter",
             "Guarded INSERTs passed on the statement-shape path (keys read from the tokens of a "
             "statement shape seen before, without a parse); counted in outcome passed too.");
    for (const auto& g : guards)
        w.sample("uniqguard_guard_shape_passes_total", label("guard", g.name),
                 g.counters.shape_passes);
    w.family("uniqguard_guard_checks_total", "counter",
             "Suspected duplicates the guard confirmed with the server.");
    for (const auto& g : guards)
        w.sample("uniqguard_guard_checks_total", label("guard", g.name), g.counters.checked);
    w.family("uniqguard_guard_waits_total", "counter",
             "Guarded writes that waited for another session's transaction holding their key.");
    for (const auto& g : guards)
        w.sample("uniqguard_guard_waits_total", label("guard", g.name), g.counters.waits);
    w.family("uniqguard_guard_waits_current", "gauge",
             "Guarded writes waiting now for another session's transaction.");
    for (const auto& g : guards)
        w.sample("uniqguard_guard_waits_current", label("guard", g.name),
                 static_cast<std::uint64_t>(std::max<std::int64_t>(g.counters.waiting, 0)));
    w.family("uniqguard_guard_ready", "gauge",
             "1 when the guard's key set is loaded and the guard enforces its key.");
    for (const auto& g : guards)
        w.sample("uniqguard_guard_ready", label("guard", g.name), g.state == "ready" ? 1 : 0);
    w.family("uniqguard_guard_keys", "gauge", "Distinct key fingerprints in the guard's key set.");
    for (const auto& g : guards) w.sample("uniqguard_guard_keys", label("guard", g.name), g.keys);
    w.family("uniqguard_guard_key_set_bytes", "gauge", "Memory held by the guard's key set.");
    for (const auto& g : guards)
        w.sample("uniqguard_guard_key_set_bytes", label("guard", g.name), g.bytes);
    w.family("uniqguard_guard_load_duration_seconds", "gauge",
             "Duration of the guard's last completed key-set load (absent before the first).");
    for (const auto& g : guards)
        if (g.load_seconds)
            w.sample("uniqguard_guard_load_duration_seconds", label("guard", g.name),
                     number(*g.load_seconds));
}

}  // namespace

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string render_prometheus(const MetricsSnapshot& s) {
    Writer w;
    w.family("uniqguard_build_info", "gauge", "Always 1; the labels name the build and protocol.");
    w.sample("uniqguard_build_info",
             label("version", s.version) + "," + label("protocol", s.protocol), 1);
    w.family("uniqguard_client_connections_open", "gauge", "Client connections open now.");
    w.sample("uniqguard_client_connections_open", "", s.connections_open);
    w.family("uniqguard_client_connections_accepted_total", "counter",
             "Client connections accepted into a session.");
    w.sample("uniqguard_client_connections_accepted_total", "", s.connections_accepted);
    w.family("uniqguard_client_connections_rejected_total", "counter",
             "Client connections refused because listen.max_clients were open.");
    w.sample("uniqguard_client_connections_rejected_total", "", s.connections_rejected);

    w.family("uniqguard_statements_total", "counter",
             "Statements from clients by kind: query (PostgreSQL Query, MySQL COM_QUERY), "
             "prepare (Parse, COM_STMT_PREPARE), execute (Execute, COM_STMT_EXECUTE).");
    for (const auto& k : s.statements)
        w.sample("uniqguard_statements_total", label("kind", k.kind), k.statements);
    w.family("uniqguard_processing_seconds", "histogram",
             "The proxy's own processing of a batch of client messages holding a statement, from "
             "decoding it to handing it to the server's socket; by the batch's first statement.");
    for (const auto& k : s.statements)
        histogram(w, "uniqguard_processing_seconds", label("kind", k.kind), k.processing);

    guard_metrics(w, s.guards);
    return w.take();
}

}  // namespace uniqguard::admin
