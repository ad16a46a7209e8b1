// Routing and request parsing in memory, without sockets.
#include "net/router.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

namespace offload::net {
namespace {

api_response call(const router& r, const api_request& req) {
  asio::io_context ioc;
  auto result = asio::co_spawn(ioc, r.async_handle(req), asio::use_future);
  ioc.run_for(std::chrono::seconds{5});
  return result.get();
}

api_request make(std::string method, std::string_view target) {
  auto req = api_request::from_target(std::move(method), target, "");
  EXPECT_TRUE(req.has_value()) << target;
  return *req;
}

router test_router(std::vector<std::string>& seen) {
  router r;
  r.add("GET", "/v1/jobs/{id}",
        [&seen](const api_request&, const route_params& p) -> asio::awaitable<api_response> {
          seen = p;
          co_return api_response::text(200, "get");
        });
  r.add("DELETE", "/v1/jobs/{id}",
        [](const api_request&, const route_params&) -> asio::awaitable<api_response> {
          co_return api_response::text(200, "delete");
        });
  r.add("GET", "/v1/jobs", [](const api_request&, const route_params&) -> asio::awaitable<api_response> {
    co_return api_response::text(200, "list");
  });
  return r;
}

TEST(router_test, matches_patterns_and_captures_segments) {
  std::vector<std::string> seen;
  const auto r = test_router(seen);
  EXPECT_EQ(call(r, make("GET", "/v1/jobs/abc")).body, "get");
  EXPECT_EQ(seen, std::vector<std::string>{"abc"});
  EXPECT_EQ(call(r, make("DELETE", "/v1/jobs/abc")).body, "delete");
  EXPECT_EQ(call(r, make("GET", "/v1/jobs?limit=3")).body, "list");
}

TEST(router_test, unknown_path_is_404_and_wrong_method_is_405_with_allow) {
  std::vector<std::string> seen;
  const auto r = test_router(seen);
  for (const auto* target : {"/", "/v1", "/v1/jobs/", "/v1/jobs/abc/extra", "/v2/jobs"})
    EXPECT_EQ(call(r, make("GET", target)).status, 404u) << target;
  const auto res = call(r, make("PATCH", "/v1/jobs/abc"));
  EXPECT_EQ(res.status, 405u);
  ASSERT_EQ(res.headers.size(), 1u);
  EXPECT_EQ(res.headers[0], (std::pair<std::string, std::string>{"Allow", "GET, DELETE"}));
  EXPECT_NE(res.body.find("method_not_allowed"), std::string::npos);
}

TEST(api_request_test, splits_and_decodes_the_target) {
  const auto req = make("GET", "/v1/jobs%2Fx?state=running&type=a+b&empty=&flag&limit=%31%30");
  EXPECT_EQ(req.path, "/v1/jobs/x");
  EXPECT_EQ(req.query_value("state"), "running");
  EXPECT_EQ(req.query_value("type"), "a b");
  EXPECT_EQ(req.query_value("empty"), "");
  EXPECT_EQ(req.query_value("flag"), "");
  EXPECT_EQ(req.query_value("limit"), "10");
  EXPECT_FALSE(req.query_value("missing").has_value());
}

TEST(api_request_test, rejects_bad_targets) {
  EXPECT_FALSE(api_request::from_target("GET", "", "").has_value());
  EXPECT_FALSE(api_request::from_target("GET", "http://x/", "").has_value());
  EXPECT_FALSE(api_request::from_target("GET", "/a%2", "").has_value());
  EXPECT_FALSE(api_request::from_target("GET", "/a%zz", "").has_value());
  EXPECT_FALSE(api_request::from_target("GET", "/a?x=%", "").has_value());
}

TEST(api_response_test, error_codes_map_to_http_statuses) {
  using proto::errc;
  EXPECT_EQ(http_status(errc::invalid_json), 400u);
  EXPECT_EQ(http_status(errc::invalid_input), 400u);
  EXPECT_EQ(http_status(errc::unknown_type), 400u);
  EXPECT_EQ(http_status(errc::lane_unavailable), 400u);
  EXPECT_EQ(http_status(errc::unauthorized), 401u);
  EXPECT_EQ(http_status(errc::not_found), 404u);
  EXPECT_EQ(http_status(errc::method_not_allowed), 405u);
  EXPECT_EQ(http_status(errc::idempotency_conflict), 409u);
  EXPECT_EQ(http_status(errc::already_finished), 409u);
  EXPECT_EQ(http_status(errc::payload_too_large), 413u);
  EXPECT_EQ(http_status(errc::queue_full), 429u);
  EXPECT_EQ(http_status(errc::headers_too_large), 431u);
  EXPECT_EQ(http_status(errc::draining), 503u);
  EXPECT_EQ(http_status(errc::internal), 500u);
}

}  // namespace
}  // namespace offload::net
