// One HTTP/1.1 connection: read a request, authorise it, route it, send the answer, repeat while kept alive.
#pragma once

#include "core/async_counter.hpp"
#include "core/metrics_registry.hpp"
#include "net/bearer_auth.hpp"
#include "net/http_limits.hpp"
#include "net/net.hpp"
#include "net/route_table.hpp"

namespace offload::net {

/// What an HTTP session needs besides its socket; shared by every session of a listener.
struct http_context {
  const route_table& routes;
  const http_limits& limits;
  const bearer_auth& auth;
  /// Requests read but not yet answered, so a shutdown can let them finish.
  core::async_counter& in_flight;
  /// Every answer is counted here (may be null) by route pattern and status.
  core::metrics_registry* metrics = nullptr;
};

/// Serves one connection until the peer closes it, a deadline passes or a request asks to close.
/// Never throws: unexpected handler failures become `500 internal`. Requests to routes that are not
/// public need an accepted bearer token, or get `401` with `WWW-Authenticate`. Upgrade requests to a
/// route with a WebSocket handler hand the connection over to it.
asio::awaitable<void> run_http_session(tcp::socket socket, const http_context& context);

}  // namespace offload::net
