// One WebSocket connection to a job's event stream.
#pragma once

#include "http_transport.hpp"

#include <offload/client/types.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace offload::client_detail {

/// How one connection to the event stream ended.
struct stream_attempt {
  enum class outcome {
    /// The terminal event arrived (in `terminal`).
    terminal,
    /// The connection failed or dropped; reconnecting may help.
    retry,
    /// Reconnecting cannot help (`not_found`, `unauthorized`, a bad event, the deadline passed).
    fatal,
    /// Something between us and the server answered the upgrade with plain HTTP (`upgrade_required`).
    refused,
  };
  outcome how = outcome::retry;
  std::optional<proto::job_event> terminal;
  /// Whether at least one new event reached the handler.
  bool delivered = false;
  error failure;
};

/// Connects to `/v1/jobs/{id}/events?after=N`, hands every event with `seq > after` to `handler` (advancing
/// `after`) until the terminal event, the end of the connection, or `deadline` (then `wait_timeout`).
boost::asio::awaitable<stream_attempt> stream_once(
    http_transport& http, const client_options& options, const std::string& id, std::uint64_t& after,
    const event_handler& handler, std::optional<std::chrono::steady_clock::time_point> deadline);

}  // namespace offload::client_detail
