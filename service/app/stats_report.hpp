// The body of `GET /v1/stats` and of the `watch` feed's stats messages: what an operator's dashboard shows
// (lanes, workers, throughput, reactor lag, connections, the process), read from the running parts.
#pragma once

#include "core/job_service.hpp"
#include "core/process/worker_pool.hpp"
#include "core/reactor_monitor.hpp"
#include "net/listener.hpp"
#include "net/websocket_session.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace offload::app {

/// Reactor-only; reads the parts it is given, which must outlive it.
class stats_report {
 public:
  struct sources {
    const core::job_service& jobs;
    const core::reactor_monitor& lag;
    /// The built-in pool first, then the operator's, in slot-pool order.
    std::vector<const core::worker_pool*> pools;
    const net::listener& listener;
    const net::websocket_endpoints& websockets;
  };

  explicit stats_report(sources from);

  /// A snapshot (schema: proto/schema/stats.schema.json). A few microseconds; no I/O but procfs.
  nlohmann::json snapshot() const;

 private:
  nlohmann::json pool(const core::pool_stats& p) const;

  sources from_;
  std::string store_;
  std::chrono::system_clock::time_point started_at_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace offload::app
