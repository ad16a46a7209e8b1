// The server's route table, in one place: every endpoint, its handlers and whether it is public.
#pragma once

#include "core/metrics_registry.hpp"
#include "net/job_api.hpp"
#include "net/route_table.hpp"
#include "net/websocket_session.hpp"

namespace offload::net {

/// Every v1 route, `/healthz`, `/readyz` and `/metrics` (public unless `protect_metrics`). The parts must
/// outlive the table.
route_table make_api_routes(job_api& api, websocket_endpoints& websockets, core::metrics_registry& metrics,
                            bool protect_metrics);

}  // namespace offload::net
