// The server's route table, in one place: every endpoint, its handlers and whether it is public.
#pragma once

#include "core/metrics_registry.hpp"
#include "net/job_api.hpp"
#include "net/route_table.hpp"
#include "net/websocket_session.hpp"

namespace offload::net {

/// The Content-Security-Policy of the dashboard's files: only this server's scripts, styles and sockets.
inline constexpr const char* dashboard_security_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Every v1 route, `/healthz`, `/readyz`, `/metrics` (public unless `protect_metrics`) and the dashboard
/// (`/ui/`, public; `/` redirects there). The parts must outlive the table.
route_table make_api_routes(job_api& api, websocket_endpoints& websockets, core::metrics_registry& metrics,
                            bool protect_metrics);

}  // namespace offload::net
