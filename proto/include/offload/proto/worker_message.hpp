// The `offloadd worker` protocol: JSON lines on the worker's stdin (requests) and stdout (events).
// See PROTOCOL.md. Neither side trusts the other's lines: every decode validates.
#pragma once

#include <offload/proto/error.hpp>
#include <offload/proto/result.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace offload::proto {

/// The worker protocol version this build speaks (a worker's `ready` line may name it).
inline constexpr int worker_protocol_version = 1;

/// Longest line either side accepts (a result or an input can be large, but not unbounded).
inline constexpr std::size_t max_worker_line_bytes = 16 * 1024 * 1024;

/// One job for a worker: `{"type":…,"input":{…}}`.
struct worker_request {
  std::string type;
  nlohmann::json input = nlohmann::json::object();
};

/// What a worker reports.
enum class worker_event_kind {
  /// Sent once at start-up: the worker is ready for requests. May name the `protocol` version it speaks
  /// and the `types` it serves.
  ready,
  /// `fraction`, `note`.
  progress,
  /// A chunk of output, `data`.
  output,
  /// Terminal: `result`.
  result,
  /// Terminal: `error` (`code`, `message`).
  error,
};

struct worker_event {
  worker_event_kind kind = worker_event_kind::ready;
  double fraction = 0;
  std::string note;
  std::string data;
  nlohmann::json result;
  proto::error error;
  /// `ready` only, when the worker says.
  std::optional<int> protocol;
  std::optional<std::vector<std::string>> types;
};

/// One line, with its trailing newline.
std::string encode_line(const worker_request& request);
std::string encode_line(const worker_event& event);

/// Parses a line (without newline); `protocol_error` saying what is wrong.
result<worker_request> decode_worker_request(std::string_view line);
result<worker_event> decode_worker_event(std::string_view line);

}  // namespace offload::proto
