#include "admin/prometheus_text.hpp"

#include <catch2/catch.hpp>

using namespace uniqguard::admin;

namespace {
bool contains(const std::string& text, const std::string& line) {
    return text.find(line + "\n") != std::string::npos;
}

MetricsSnapshot sample_snapshot() {
    MetricsSnapshot s;
    s.version = "0.1.0";
    s.protocol = "postgres";
    s.connections_open = 2;
    s.connections_accepted = 7;
    s.connections_rejected = 1;
    StatementKindSnapshot query{.kind = "query", .statements = 5};
    query.processing.upper_bounds_seconds = {0.000001, 0.0000025};
    query.processing.buckets = {3, 1, 1};  // per bucket; the last is +Inf
    query.processing.sum_seconds = 0.5;
    s.statements.push_back(query);
    GuardSnapshot g{.name = "enroll \"uniq\"", .state = "ready"};
    g.keys = 10;
    g.bytes = 4096;
    g.load_seconds = 0.25;
    g.counters.passed = 4;
    g.counters.rejected = 3;
    g.counters.checked = 6;
    s.guards.push_back(g);
    return s;
}
}  // namespace

TEST_CASE("Prometheus text: counters, gauges and a cumulative histogram", "[admin]") {
    const std::string text = render_prometheus(sample_snapshot());
    CHECK(contains(text, "# TYPE uniqguard_client_connections_accepted_total counter"));
    CHECK(contains(text, "uniqguard_client_connections_open 2"));
    CHECK(contains(text, "uniqguard_client_connections_accepted_total 7"));
    CHECK(contains(text, "uniqguard_client_connections_rejected_total 1"));
    CHECK(contains(text, "uniqguard_statements_total{kind=\"query\"} 5"));
    CHECK(contains(text, "# TYPE uniqguard_processing_seconds histogram"));
    CHECK(contains(text, "uniqguard_processing_seconds_bucket{kind=\"query\",le=\"1e-06\"} 3"));
    CHECK(contains(text, "uniqguard_processing_seconds_bucket{kind=\"query\",le=\"2.5e-06\"} 4"));
    CHECK(contains(text, "uniqguard_processing_seconds_bucket{kind=\"query\",le=\"+Inf\"} 5"));
    CHECK(contains(text, "uniqguard_processing_seconds_sum{kind=\"query\"} 0.5"));
    CHECK(contains(text, "uniqguard_processing_seconds_count{kind=\"query\"} 5"));
    CHECK(contains(text, "uniqguard_build_info{version=\"0.1.0\",protocol=\"postgres\"} 1"));
}

TEST_CASE("Prometheus text: per-guard metrics with the guard's name escaped", "[admin]") {
    const std::string text = render_prometheus(sample_snapshot());
    const std::string guard = "guard=\"enroll \\\"uniq\\\"\"";
    CHECK(contains(text, "uniqguard_guard_outcomes_total{" + guard + ",outcome=\"passed\"} 4"));
    CHECK(contains(text, "uniqguard_guard_outcomes_total{" + guard + ",outcome=\"rejected\"} 3"));
    CHECK(contains(text, "uniqguard_guard_outcomes_total{" + guard + ",outcome=\"ignored\"} 0"));
    CHECK(contains(text, "uniqguard_guard_checks_total{" + guard + "} 6"));
    CHECK(contains(text, "uniqguard_guard_ready{" + guard + "} 1"));
    CHECK(contains(text, "uniqguard_guard_keys{" + guard + "} 10"));
    CHECK(contains(text, "uniqguard_guard_key_set_bytes{" + guard + "} 4096"));
    CHECK(contains(text, "uniqguard_guard_load_duration_seconds{" + guard + "} 0.25"));
}

TEST_CASE("Prometheus text: no guard families without guards", "[admin]") {
    auto s = sample_snapshot();
    s.guards.clear();
    CHECK(render_prometheus(s).find("uniqguard_guard_") == std::string::npos);
}

TEST_CASE("Prometheus label values escape backslash, quote and newline", "[admin]") {
    CHECK(escape_label_value("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
    CHECK(escape_label_value("plain") == "plain");
}
