// The endpoint table of offloadd (imitating the `endpoints` table of Boost.MySQL's HTTP example).
#include "net/api_routes.hpp"

#include "net/static_files.hpp"

namespace offload::net {
namespace {

asio::awaitable<api_response> metrics_text(core::metrics_registry& metrics) {
  api_response response;
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  response.body = metrics.render();
  co_return response;
}

// The API description: openapi.yaml refers to its schemas as `schema/<name>`, which resolves to
// `/v1/schema/<name>` next to `/v1/openapi.yaml`. Revalidated on each use (`no-cache`), answered 304 if same.
const static_files& api_files() {
  static const static_files files{embedded_api_files(), "no-cache"};
  return files;
}

asio::awaitable<api_response> api_file(std::string name, const api_request& request) {
  co_return api_files().answer(name, request.if_none_match);
}

// The dashboard's files: revalidated on each use like the API files, and sent with a policy that lets the
// page run only its own scripts and styles and talk only to this server (no inline script, no framing).
const static_files& ui_files() {
  static const static_files files{embedded_ui_files(), "no-cache"};
  return files;
}

asio::awaitable<api_response> ui_file(std::string name, const api_request& request) {
  auto response = ui_files().answer(name, request.if_none_match);
  response.headers.emplace_back("Content-Security-Policy", dashboard_security_policy);
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  response.headers.emplace_back("X-Frame-Options", "DENY");
  co_return response;
}

asio::awaitable<api_response> redirect(std::string location) {
  api_response response;
  response.status = 302;
  response.content_type = "text/plain; charset=utf-8";
  response.body = "see " + location + "\n";
  response.headers.emplace_back("Location", std::move(location));
  co_return response;
}

}  // namespace

route_table make_api_routes(job_api& api, websocket_endpoints& websockets, core::metrics_registry& metrics,
                            bool protect_metrics) {
  using req = const api_request&;
  using params = const route_params&;
  auto job_stream = [&websockets](websocket_upgrade& u, req r, params p) {
    return websockets.async_job_stream(u, r, p);
  };
  auto multiplexed = [&websockets](websocket_upgrade& u, req r, params p) {
    return websockets.async_multiplexed(u, r, p);
  };
  // method, pattern, HTTP handler, WebSocket handler, public
  return route_table{{
      {"POST", "/v1/jobs", [&api](req r, params) { return api.submit(r); }},
      {"GET", "/v1/jobs", [&api](req r, params) { return api.list(r); }},
      {"GET", "/v1/jobs/{id}", [&api](req r, params p) { return api.get(r, p); }},
      {"DELETE", "/v1/jobs/{id}", [&api](req, params p) { return api.cancel(p); }},
      {"GET", "/v1/jobs/{id}/events",
       [&websockets](req, params p) { return websockets.async_job_stream_without_upgrade(p); }, job_stream},
      {"GET", "/v1/ws", {}, multiplexed},
      {"GET", "/v1/types", [&api](req, params) { return api.types(); }},
      {"GET", "/v1/stats", [&api](req, params) { return api.stats(); }},
      {"GET", "/v1/openapi.yaml", [](req r, params) { return api_file("openapi.yaml", r); }},
      {"GET", "/v1/schema/{name}", [](req r, params p) { return api_file("schema/" + p.at(0), r); }},
      {"GET", "/healthz", [&api](req, params) { return api.health(); }, {}, true},
      {"GET", "/readyz", [&api](req, params) { return api.ready(); }, {}, true},
      {"GET", "/metrics", [&metrics](req, params) { return metrics_text(metrics); }, {}, !protect_metrics},
      // The dashboard's files hold no data (the page asks the API, with the token, for that): public.
      {"GET", "/", [](req, params) { return redirect("/ui/"); }, {}, true},
      {"GET", "/ui", [](req, params) { return redirect("/ui/"); }, {}, true},
      {"GET", "/ui/", [](req r, params) { return ui_file("index.html", r); }, {}, true},
      {"GET", "/ui/{file}", [](req r, params p) { return ui_file(p.at(0), r); }, {}, true},
  }};
}

}  // namespace offload::net
