#include "admin/guards_json.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "admin/http_server.hpp"

using namespace uniqguard::admin;
namespace json = boost::json;

TEST_CASE("/guards JSON: one object per guard with counters and the unique index", "[admin]") {
    GuardSnapshot ready{.name = "g1",
                        .table = "public.enroll",
                        .action = "reject",
                        .state = "ready",
                        .columns = {"user_id", "course_id"}};
    ready.keys = 3;
    ready.bytes = 100;
    ready.load_seconds = 0.5;
    ready.counters.rejected = 2;
    ready.unique_index = {.enforced = true, .indexes = {"enroll_uniq"}, .source = "catalog now"};
    GuardSnapshot failed{.name = "g2", .table = "t", .action = "log", .state = "failed"};
    failed.failure = "table \"t\" does not exist";
    failed.unique_index.source = "unknown";

    const auto doc = json::parse(render_guards_json({ready, failed}));
    const auto& guards = doc.at("guards").as_array();
    REQUIRE(guards.size() == 2);
    const auto& g1 = guards[0].as_object();
    CHECK(g1.at("name") == "g1");
    CHECK(g1.at("table") == "public.enroll");
    CHECK(g1.at("columns") == json::array{"user_id", "course_id"});
    CHECK(g1.at("action") == "reject");
    CHECK(g1.at("state") == "ready");
    CHECK(g1.at("keys") == 3);
    CHECK(g1.at("bytes") == 100);
    CHECK(g1.at("load_seconds") == 0.5);
    CHECK(g1.at("counters").at("rejected") == 2);
    CHECK(g1.at("counters").at("passed") == 0);
    CHECK(g1.at("unique_index").at("enforced") == true);
    CHECK(g1.at("unique_index").at("indexes") == json::array{"enroll_uniq"});
    CHECK(!g1.contains("failure"));
    const auto& g2 = guards[1].as_object();
    CHECK(g2.at("failure") == "table \"t\" does not exist");
    CHECK(g2.at("load_seconds").is_null());
    CHECK(g2.at("unique_index").at("enforced").is_null());
}

TEST_CASE("Bearer token: scheme case-insensitive, token exact", "[admin]") {
    CHECK(bearer_token_matches("Bearer s3cret", "s3cret"));
    CHECK(bearer_token_matches("bearer s3cret", "s3cret"));
    CHECK_FALSE(bearer_token_matches("Bearer S3cret", "s3cret"));
    CHECK_FALSE(bearer_token_matches("Bearer s3cre", "s3cret"));
    CHECK_FALSE(bearer_token_matches("Bearer s3crett", "s3cret"));
    CHECK_FALSE(bearer_token_matches("Basic s3cret", "s3cret"));
    CHECK_FALSE(bearer_token_matches("", "s3cret"));
}
