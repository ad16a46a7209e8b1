// One HTTP/1.1 connection: read a request, route it, write the response, repeat while kept alive.
#pragma once

#include "core/metrics_registry.hpp"
#include "net/bearer_auth.hpp"
#include "net/http_limits.hpp"
#include "net/net.hpp"
#include "net/router.hpp"
#include "net/websocket_session.hpp"

namespace offload::net {

/// Serves one connection until the peer closes it, a deadline passes or a request asks to close.
/// Never throws: unexpected handler failures become `500 internal`.
/// `in_flight` counts requests read but not yet answered, so a shutdown can let them finish.
/// WebSocket upgrade requests go to `upgrades` (null: they are answered like any other request).
/// Every answer is counted in `metrics` (may be null) by route pattern and status.
/// Requests to paths `auth` protects need an accepted bearer token, or get `401` with `WWW-Authenticate`.
asio::awaitable<void> run_http_session(tcp::socket socket, const router& routes, const http_limits& limits,
                                       std::size_t& in_flight, websocket_endpoints* upgrades,
                                       const bearer_auth& auth, core::metrics_registry* metrics);

}  // namespace offload::net
