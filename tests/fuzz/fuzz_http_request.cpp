// Fuzz target: raw bytes as an HTTP request, parsed by Beast with the server's limits and pushed through the
// route table and the v1 API handlers of a real job service, all in memory.
#include "core/handlers/builtin_types.hpp"
#include "core/job_service.hpp"
#include "core/thread_lane.hpp"
#include "core/type_registry.hpp"
#include "net/api_request.hpp"
#include "net/api_routes.hpp"
#include "net/http_limits.hpp"
#include "net/job_api.hpp"

#include <offload/proto/json_parse.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http.hpp>

#include <cstdint>
#include <cstdlib>
#include <exception>

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using namespace offload;

core::service_config fuzz_config() {
  core::service_config config;
  config.threads = 1;
  config.max_queued = 64;  // full queues are part of what gets exercised
  config.retain_jobs = 256;
  return config;
}

core::job_lanes thread_lane_only(asio::any_io_executor reactor) {
  core::job_lanes lanes;
  lanes.thread = std::make_unique<core::thread_lane>(reactor, 1);
  return lanes;
}

struct harness {
  harness() { core::register_builtin_types(types); }
  asio::io_context io{1};
  core::type_registry types;
  core::job_service jobs{io.get_executor(), fuzz_config(), types, thread_lane_only(io.get_executor())};
  net::job_api api{jobs};
  net::websocket_endpoints websockets{io.get_executor(), jobs, net::websocket_limits{}};
  core::metrics_registry metrics;
  net::route_table routes = net::make_api_routes(api, websockets, metrics, false);
};

harness& instance() {
  static harness h;
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& h = instance();
  const net::http_limits limits;
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  parser.body_limit(limits.max_body_bytes);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(asio::buffer(data, size), ec);
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return 0;
  auto& req = parser.get();
  // `?wait=` holds the answer until a job ends: real time, not input, decides; leave it out.
  if (req.target().find("wait") != boost::beast::string_view::npos) return 0;
  auto request =
      net::api_request::from_target(std::string{req.method_string()}, req.target(), std::move(req.body()));
  if (!request) return 0;

  bool done = false;
  net::api_response response;
  asio::co_spawn(h.io, h.routes.async_handle(*request), [&](std::exception_ptr e, net::api_response r) {
    if (e) std::abort();  // handlers turn every failure into an error response
    response = std::move(r);
    done = true;
  });
  for (int i = 0; i < 1000 && !done; ++i) {
    if (h.io.stopped()) h.io.restart();
    h.io.poll();
  }
  if (!done) std::abort();  // without ?wait every handler answers at once
  if (response.status < 200 || response.status > 599) std::abort();
  if (response.content_type == "application/json" && !proto::parse_json(response.body)) std::abort();
  return 0;
}
