// WebSocket endpoints: `GET /v1/jobs/{id}/events` (one job: replay, then live, then close 1000) and
// `GET /v1/ws` (multiplexed: submit, subscribe, unsubscribe, cancel). One writer per socket; everything
// else queues frames, and a client that falls too far behind is closed with 1013.
#pragma once

#include "core/job_service.hpp"
#include "net/api_response.hpp"
#include "net/net.hpp"
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

/// Takes over WebSocket upgrade requests from HTTP sessions.
class websocket_endpoints {
 public:
  websocket_endpoints(core::job_service& jobs, websocket_limits limits) : jobs_(jobs), limits_(limits) {}

  /// For an upgrade request: an HTTP error response to send instead (unknown path or job, bad `after`),
  /// or nothing after having run the whole WebSocket session on `stream`.
  asio::awaitable<std::optional<api_response>> async_upgrade(boost::beast::tcp_stream& stream,
                                                             upgrade_request request);

  /// WebSocket sessions open now.
  std::size_t sessions() const noexcept { return sessions_; }

  /// Shutdown: every open session sends what it has queued (terminal events included), then closes with
  /// 1001 going away; later upgrades are refused with `503 draining`.
  void close_all();

  /// Completes when no session is open, or after `limit`.
  asio::awaitable<void> async_closed(std::chrono::steady_clock::duration limit);

 private:
  core::job_service& jobs_;
  websocket_limits limits_;
  std::size_t sessions_ = 0;
  bool closing_ = false;
  // How to tell each open session to go away, by registration number.
  std::map<std::uint64_t, std::function<void()>> going_away_;
  std::uint64_t next_registration_ = 0;
};

}  // namespace offload::net
