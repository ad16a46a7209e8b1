// WebSocket endpoints: `GET /v1/jobs/{id}/events` (one job: replay, then live, then close 1000) and
// `GET /v1/ws` (multiplexed: submit, subscribe, unsubscribe, cancel, watch). One writer per socket, which
// sends replies and the followed jobs' logs by cursor (no per-subscriber copies); a client that falls too far
// behind, or all of them together, is closed with 1013.
#pragma once

#include "core/async_counter.hpp"
#include "core/job_service.hpp"
#include "net/api_response.hpp"
#include "net/net.hpp"
#include "net/route_table.hpp"
#include "net/watch_hub.hpp"
#include "net/websocket_limits.hpp"

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>

namespace offload::net {

using upgrade_request = boost::beast::http::request<boost::beast::http::string_body>;

/// A connection being upgraded: the HTTP session hands over its stream and the request it read.
struct websocket_upgrade {
  boost::beast::tcp_stream& stream;
  upgrade_request request;
};

/// What all the sessions share.
struct websocket_totals {
  /// Bytes waiting for all the sessions together (`websocket_limits::max_total_queued_bytes`).
  std::size_t backlog = 0;
  /// Closes the server started, by close code (1000 end of a job's stream, 1001 shutdown, 1003 binary frame,
  /// 1009 message too big, 1013 client too slow).
  std::map<int, std::uint64_t> closes;
};

/// The WebSocket endpoints' handlers (the route table names their paths) and the sessions they run.
class websocket_endpoints {
 public:
  websocket_endpoints(asio::any_io_executor reactor, core::job_service& jobs, websocket_limits limits)
      : jobs_(jobs), limits_(limits), sessions_(reactor), watches_(reactor) {}

  /// `GET /v1/jobs/{id}/events` upgraded: replay after `?after=N`, follow live, close 1000 after the
  /// terminal event. Refuses with `404` (unknown job) or `400` (bad `after`) before the handshake.
  asio::awaitable<std::optional<api_response>> async_job_stream(websocket_upgrade& upgrade,
                                                                const api_request& request,
                                                                const route_params& params);
  /// `GET /v1/jobs/{id}/events` without an upgrade: `404` for an unknown job, else `426`.
  asio::awaitable<api_response> async_job_stream_without_upgrade(const route_params& params);
  /// `GET /v1/ws` upgraded: the multiplexed socket.
  asio::awaitable<std::optional<api_response>> async_multiplexed(websocket_upgrade& upgrade,
                                                                 const api_request& request,
                                                                 const route_params& params);

  /// The `watch` feed; the daemon gives it its statistics source and the job service's changes.
  watch_hub& watches() noexcept { return watches_; }

  /// WebSocket sessions open now.
  std::size_t sessions() const noexcept { return sessions_.value(); }
  /// Closes the server started so far, by code.
  const std::map<int, std::uint64_t>& closes() const noexcept { return totals_.closes; }

  /// Shutdown: every open session sends what it has queued (terminal events included), then closes with
  /// 1001 going away; later upgrades are refused with `503 draining`.
  void close_all();

  /// Completes when no session is open, or after `limit`.
  asio::awaitable<void> async_closed(std::chrono::steady_clock::duration limit);

 private:
  template <class Run>
  asio::awaitable<std::optional<api_response>> run_session(websocket_upgrade& upgrade, Run run);

  core::job_service& jobs_;
  websocket_limits limits_;
  core::async_counter sessions_;
  watch_hub watches_;
  websocket_totals totals_;
  bool closing_ = false;
  // How to tell each open session to go away, by registration number.
  std::map<std::uint64_t, std::function<void()>> going_away_;
  std::uint64_t next_registration_ = 0;
};

}  // namespace offload::net
