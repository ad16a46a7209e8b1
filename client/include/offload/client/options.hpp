// How a client reaches its server and how patient it is.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace offload {

struct client_options {
  /// `http://host[:port][/prefix]`; the port defaults to 80. TLS is not spoken: put a TLS-terminating
  /// proxy in front of `offloadd` and point the client at a local plain-HTTP side if you need it.
  std::string url = "http://127.0.0.1:8080";
  /// Sent as `Authorization: Bearer <token>` when not empty.
  std::string token{};
  /// Name resolution plus TCP connect plus (for streams) the WebSocket handshake.
  std::chrono::milliseconds connect_timeout{5'000};
  /// Writing one request and reading its whole answer (`submit` with `wait` adds the wait to this).
  std::chrono::milliseconds request_timeout{30'000};
  /// Give every `submit` without an `idempotency_key` a random one, so that retrying after a lost
  /// answer never creates a second job.
  bool auto_idempotency_key = true;
  /// How often `submit` is retried (same key) after a transport failure; other calls retry only
  /// idempotent requests on a stale kept-alive connection.
  int submit_retries = 2;
  /// Streams reconnect after a dropped connection with capped exponential back-off; they give up after
  /// this many consecutive attempts that deliver nothing.
  int max_reconnect_attempts = 8;
  std::chrono::milliseconds reconnect_initial_delay{100};
  std::chrono::milliseconds reconnect_max_delay{5'000};
  /// The largest HTTP answer body accepted (job results can be large).
  std::size_t max_response_bytes = 64u << 20;
};

}  // namespace offload
