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
  /// Time allowed to receive one whole request (headers and body) once a connection is idle-waiting.
  std::chrono::seconds request_timeout{30};
  /// Time allowed to send one response to a client.
  std::chrono::seconds write_timeout{30};
  /// Open connections beyond which new ones are closed at once.
  std::size_t max_connections = 10000;
};

}  // namespace offload::net
