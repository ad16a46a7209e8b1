// Routing and request parsing in memory, without sockets.
#include "net/route_table.hpp"

#include "core/handlers/builtin_types.hpp"
#include "core/job_service.hpp"
#include "net/api_routes.hpp"
#include "net/static_files.hpp"
#include "net/websocket_subprotocols.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <set>
#include <string>
#include <vector>

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

struct openapi_operation {
  std::string method;
  std::string path;
  bool is_public = false;
};

// The operations of an OpenAPI document's `paths` (paths indented by two spaces, methods by four, as
// proto/openapi.yaml is written; the Node tests check the whole document with an OpenAPI validator).
std::vector<openapi_operation> openapi_operations(const std::string& file) {
  std::ifstream in{file};
  EXPECT_TRUE(in) << file;
  std::vector<openapi_operation> ops;
  std::string line, path;
  bool in_paths = false;
  static const std::set<std::string> methods{"get", "put", "post", "delete", "patch", "head", "options"};
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != ' ' && line[0] != '#') in_paths = line == "paths:";
    if (!in_paths) continue;
    if (line.starts_with("  /") && line.ends_with(":")) {
      path = line.substr(2, line.size() - 3);
    } else if (line.starts_with("    ") && line[4] != ' ' && line.ends_with(":")) {
      auto method = line.substr(4, line.size() - 5);
      if (methods.contains(method)) {
        for (auto& c : method)
          c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        ops.push_back({method, path});
      }
    } else if (line == "      security: []" && !ops.empty()) {
      ops.back().is_public = true;
    }
  }
  return ops;
}

// The server's own table: which routes are public, and that every documented route is in it.
TEST(router_test, the_api_table_lists_every_route_and_exempts_only_health_metrics_and_the_dashboard) {
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
    // The dashboard's files hold no data; what the page shows comes from the API, with the token.
    std::set<std::string> expected_open{"/healthz", "/readyz", "/", "/ui", "/ui/", "/ui/{file}"};
    if (!protect_metrics) expected_open.insert("/metrics");
    EXPECT_EQ(open, expected_open);
  }
  // proto/openapi.yaml describes exactly the routes the server has, and says which need no token.
  const auto documented = openapi_operations(OFFLOAD_SOURCE_DIR "/proto/openapi.yaml");
  std::set<std::string> described, described_open;
  for (const auto& op : documented) {
    described.insert(op.method + " " + op.path);
    if (op.is_public) described_open.insert(op.path);
  }
  EXPECT_EQ(rows, described) << "every route in proto/openapi.yaml, and every path there routed";
  EXPECT_EQ(described_open, (std::set<std::string>{"/healthz", "/readyz", "/", "/ui", "/ui/", "/ui/{file}"}))
      << "security: [] in proto/openapi.yaml (/metrics lists both ways)";
  EXPECT_GE(rows.size(), 12u);
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

TEST(static_files_test, serves_the_api_description_with_etag_and_304) {
  const static_files files{embedded_api_files(), "no-cache"};
  const auto yaml = files.answer("openapi.yaml", "");
  EXPECT_EQ(yaml.status, 200u);
  EXPECT_EQ(yaml.content_type, "application/yaml");
  EXPECT_TRUE(yaml.body.starts_with("openapi: 3.1")) << yaml.body.substr(0, 40);
  std::ifstream source{OFFLOAD_SOURCE_DIR "/proto/openapi.yaml", std::ios::binary};
  EXPECT_EQ(yaml.body, std::string(std::istreambuf_iterator<char>{source}, {})) << "embedded byte for byte";
  std::string etag;
  for (const auto& [name, value] : yaml.headers)
    if (name == "ETag") etag = value;
  ASSERT_EQ(etag.size(), 18u) << etag;
  EXPECT_EQ(files.answer("openapi.yaml", etag).status, 304u);
  EXPECT_EQ(files.answer("openapi.yaml", "\"other\", W/" + etag).status, 304u);
  EXPECT_EQ(files.answer("openapi.yaml", "\"other\"").status, 200u);
  for (const auto* schema :
       {"schema/job_view.schema.json", "schema/job_event.schema.json", "schema/ws_message.schema.json"}) {
    const auto answer = files.answer(schema, "");
    EXPECT_EQ(answer.status, 200u) << schema;
    EXPECT_EQ(answer.content_type, "application/json");
    EXPECT_TRUE(nlohmann::json::accept(answer.body)) << schema;
  }
  EXPECT_EQ(files.answer("schema/missing.json", "").status, 404u);
  EXPECT_EQ(files.answer("../openapi.yaml", "").status, 404u);
}

TEST(websocket_subprotocols_test, a_bearer_token_rides_in_the_offered_subprotocols) {
  const auto offered = websocket_subprotocols::parse("offload.v1, offload.bearer.c2VjcmV0LXRva2Vu");
  EXPECT_TRUE(offered.offers_v1);
  EXPECT_EQ(offered.authorization, "Bearer secret-token");
  // Unpadded base64url only: a token with bytes that base64 maps to '+' and '/' uses '-' and '_'.
  EXPECT_EQ(decode_base64url("-_8"), std::string("\xfb\xff", 2));
  EXPECT_FALSE(decode_base64url("+/8").has_value());
  EXPECT_FALSE(decode_base64url("YQ==").has_value()) << "padding is not base64url's";
  EXPECT_FALSE(decode_base64url("YR").has_value()) << "non-zero leftover bits: a second encoding of 'a'";
  EXPECT_FALSE(decode_base64url("Y").has_value());
  EXPECT_FALSE(websocket_subprotocols::parse("offload.bearer.").authorization.has_value());
  EXPECT_FALSE(websocket_subprotocols::parse("offload.bearer.%%%").authorization.has_value());
  EXPECT_FALSE(websocket_subprotocols::parse("chat, offload.v2").offers_v1);
  EXPECT_EQ(websocket_subprotocols::parse("offload.bearer.YQ,offload.bearer.Yg").authorization, "Bearer a");
}

}  // namespace
}  // namespace offload::net
