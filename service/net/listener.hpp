// Accepts TCP connections and runs one HTTP session coroutine per connection.
#pragma once

#include "net/bearer_auth.hpp"
#include "net/http_limits.hpp"
#include "net/net.hpp"
#include "net/router.hpp"
#include "net/websocket_session.hpp"

#include <chrono>
#include <cstddef>
#include <string_view>

namespace offload::net {

class listener {
 public:
  /// `upgrades` (may be null) takes WebSocket upgrade requests; `auth` (may be null: open) guards paths.
  listener(asio::any_io_executor executor, const router& routes, http_limits limits,
           websocket_endpoints* upgrades = nullptr, const bearer_auth* auth = nullptr,
           core::metrics_registry* metrics = nullptr);

  /// Opens, binds and listens; returns the bound endpoint (port 0 picks a free one). Throws on failure.
  tcp::endpoint bind(const tcp::endpoint& endpoint);
  /// Starts accepting.
  void start();
  /// Stops accepting; open connections carry on.
  void stop();

  /// Completes once no request is being handled or answered, or after `limit`. Used at shutdown,
  /// after `stop()`, so that clients waiting on a job get their answer before the reactor stops.
  asio::awaitable<void> async_quiesce(std::chrono::steady_clock::duration limit);

  std::size_t connections() const noexcept { return connections_; }
  std::size_t requests_in_flight() const noexcept { return in_flight_; }

  /// Parses `HOST:PORT` (`[v6]:PORT` for IPv6). Throws `std::invalid_argument`.
  static tcp::endpoint parse_endpoint(std::string_view text);

 private:
  asio::awaitable<void> accept_loop();

  asio::any_io_executor executor_;
  tcp::acceptor acceptor_;
  const router& routes_;
  http_limits limits_;
  websocket_endpoints* upgrades_;
  const bearer_auth& auth_;
  core::metrics_registry* metrics_;
  std::size_t connections_ = 0;
  std::size_t in_flight_ = 0;
};

}  // namespace offload::net
