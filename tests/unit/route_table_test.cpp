// Routing and request parsing in memory, without sockets.
#include "net/route_table.hpp"

#include "core/handlers/builtin_types.hpp"
#include "core/job_service.hpp"
#include "net/api_routes.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <set>

namespace offload::net {
namespace {

api_response call(const route_table& r, const api_request& req) {
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

http_handler answer(std::string text) {
  return [text](const api_request&, const route_params&) -> asio::awaitable<api_response> {
    co_return api_response::text(200, text);
  };
}

websocket_handler take_over() {
  return [](websocket_upgrade&, const api_request&,
            const route_params&) -> asio::awaitable<std::optional<api_response>> { co_return std::nullopt; };
}

route_table test_router(std::vector<std::string>& seen) {
  route_table r;
  r.add({"GET", "/v1/jobs/{id}",
         [&seen](const api_request&, const route_params& p) -> asio::awaitable<api_response> {
           seen = p;
           co_return api_response::text(200, "get");
         }});
  r.add({"DELETE", "/v1/jobs/{id}", answer("delete")});
  r.add({"GET", "/v1/jobs", answer("list")});
  r.add({"GET", "/v1/ws", {}, take_over()});
  r.add({"GET", "/v1/jobs/{id}/events", answer("events"), take_over()});
  r.add({"GET", "/healthz", answer("ok"), {}, true});
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

TEST(router_test, a_websocket_only_route_answers_426_to_plain_requests) {
  std::vector<std::string> seen;
  const auto r = test_router(seen);
  const auto plain = call(r, make("GET", "/v1/ws"));
  EXPECT_EQ(plain.status, 426u);
  EXPECT_NE(plain.body.find("upgrade_required"), std::string::npos);
  EXPECT_EQ(plain.route, "/v1/ws") << "metrics label the refusal with its route";
  const auto found = r.find("GET", "/v1/ws", true);
  ASSERT_NE(found.route, nullptr);
  EXPECT_TRUE(found.websocket);
  EXPECT_FALSE(found.refusal.has_value());
}

TEST(router_test, upgrades_go_to_websocket_handlers_and_plain_routes_ignore_them) {
  std::vector<std::string> seen;
  const auto r = test_router(seen);
  const auto events = r.find("GET", "/v1/jobs/abc/events", true);
  EXPECT_TRUE(events.websocket);
  EXPECT_EQ(events.params, std::vector<std::string>{"abc"});
  EXPECT_FALSE(r.find("GET", "/v1/jobs/abc/events", false).websocket);
  EXPECT_EQ(call(r, make("GET", "/v1/jobs/abc/events")).body, "events");
  const auto list = r.find("GET", "/v1/jobs", true);
  EXPECT_FALSE(list.websocket) << "a plain route answers an upgrade request like a plain one";
  EXPECT_FALSE(list.refusal.has_value());
}

TEST(router_test, only_get_routes_may_be_public_and_rows_are_unique) {
  route_table r;
  EXPECT_THROW(r.add({"POST", "/v1/jobs", answer("x"), {}, true}), std::invalid_argument);
  r.add({"GET", "/healthz", answer("ok"), {}, true});
  EXPECT_THROW(r.add({"GET", "/healthz", answer("again")}), std::invalid_argument);
  EXPECT_THROW(r.add({"GET", "/nothing"}), std::invalid_argument);
  EXPECT_TRUE(r.find("GET", "/healthz", false).route->is_public);
}

// The server's own table: which routes are public, and that every documented route is in it.
TEST(router_test, the_api_table_lists_every_route_and_exempts_only_health_and_metrics) {
  asio::io_context io{1};
  core::type_registry types;
  core::register_builtin_types(types);
  core::job_service jobs{io.get_executor(), core::service_config{}, types, {}};
  job_api api{jobs};
  websocket_endpoints websockets{io.get_executor(), jobs, websocket_limits{}};
  core::metrics_registry metrics;
  std::set<std::string> rows, open;
  for (const bool protect_metrics : {false, true}) {
    rows.clear();
    open.clear();
    const auto table = make_api_routes(api, websockets, metrics, protect_metrics);
    for (const auto& row : table.rows()) {
      rows.insert(row.method + " " + row.pattern);
      if (row.is_public) open.insert(row.pattern);
    }
    const std::set<std::string> expected_open =
        protect_metrics ? std::set<std::string>{"/healthz", "/readyz"}
                        : std::set<std::string>{"/healthz", "/readyz", "/metrics"};
    EXPECT_EQ(open, expected_open);
  }
  EXPECT_EQ(rows, (std::set<std::string>{"POST /v1/jobs", "GET /v1/jobs", "GET /v1/jobs/{id}",
                                         "DELETE /v1/jobs/{id}", "GET /v1/jobs/{id}/events", "GET /v1/ws",
                                         "GET /v1/types", "GET /healthz", "GET /readyz", "GET /metrics"}));
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
