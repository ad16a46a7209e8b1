// Limits and deadlines of HTTP connections. Plain data with defaults.
#pragma once

#include <chrono>
#include <cstddef>

namespace offload::net {

struct http_limits {
  /// Largest request body; larger ones get `413 payload_too_large`.
  std::size_t max_body_bytes = 1024 * 1024;
  /// Largest request line plus headers; larger ones get `431 headers_too_large`.
  std::size_t max_header_bytes = 16 * 1024;
  /// A kept-alive connection on which no new request starts within this time is closed.
  std::chrono::seconds idle_timeout{30};
  /// From a request's first byte to the end of its headers: a client trickling headers (slowloris) is
  /// closed when it runs out.
  std::chrono::seconds header_timeout{10};
  /// Time allowed to receive a request's body.
  std::chrono::seconds body_timeout{30};
  /// Time allowed to send one response; a client that does not read it is dropped.
  std::chrono::seconds write_timeout{30};
  /// Open connections beyond which new ones are closed at once.
  std::size_t max_connections = 10000;
};

}  // namespace offload::net
