// Limits of WebSocket connections. Plain data with defaults.
#pragma once

#include <chrono>
#include <cstddef>

namespace offload::net {

struct websocket_limits {
  /// Bytes waiting to be sent to one client (replies, and the events of its followed jobs not sent yet,
  /// replayed or live); past it the client is too slow and is closed with 1013.
  std::size_t max_queued_bytes = 8 * 1024 * 1024;
  /// The same for all clients together: past it, the client whose backlog would grow is closed with 1013.
  std::size_t max_total_queued_bytes = 256 * 1024 * 1024;
  /// Jobs one multiplexed socket may follow at once; more are refused with `too_many_subscriptions`.
  std::size_t max_subscriptions = 1000;
  /// Largest message a client may send; larger ones close the socket with 1009.
  std::size_t max_message_bytes = 64 * 1024;
  /// A ping goes out after half of this without traffic; no answer within it closes the socket.
  std::chrono::seconds idle_timeout{40};
  /// Time allowed for the opening handshake.
  std::chrono::seconds handshake_timeout{10};
};

}  // namespace offload::net
