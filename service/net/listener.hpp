// Accepts TCP connections and runs one HTTP session coroutine per connection.
#pragma once

#include "core/async_counter.hpp"
#include "net/bearer_auth.hpp"
#include "net/http_limits.hpp"
#include "net/http_session.hpp"
#include "net/net.hpp"
#include "net/route_table.hpp"

#include <chrono>
#include <cstddef>
#include <string_view>

namespace offload::net {

class listener {
 public:
  /// `auth` (may be null: open) guards the routes that are not public; `metrics` (may be null) counts
  /// answers.
  listener(asio::any_io_executor executor, const route_table& routes, http_limits limits,
           const bearer_auth* auth = nullptr, core::metrics_registry* metrics = nullptr);

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
  std::size_t requests_in_flight() const noexcept { return in_flight_.value(); }

  /// Parses `HOST:PORT` (`[v6]:PORT` for IPv6); a HOST that is a name (`localhost`) is resolved (a blocking
  /// lookup: for start-up only) to its first IPv4 address, else its first IPv6 one. Throws
  /// `std::invalid_argument`.
  static tcp::endpoint parse_endpoint(std::string_view text);

 private:
  asio::awaitable<void> accept_loop();

  asio::any_io_executor executor_;
  tcp::acceptor acceptor_;
  http_limits limits_;
  core::async_counter in_flight_;
  http_context context_;
  std::size_t connections_ = 0;
};

}  // namespace offload::net
