// Structured logs: one JSON object per line on stderr, written by a thread of its own from a bounded queue,
// so that a slow or full stderr pipe never stalls the reactor (lines beyond the queue are dropped, counted).
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string_view>

namespace offload::core {

enum class log_level {
  /// Per-job lifecycle detail; off by default.
  debug,
  /// Start-up, shutdown and other rare operational events.
  info,
  /// Something went wrong but the service carries on.
  warn,
  /// An unexpected failure.
  error,
};

std::optional<log_level> log_level_from_string(std::string_view text) noexcept;

/// Process-wide minimum level (default `info`). Set once at start-up.
void set_log_level(log_level level) noexcept;
bool log_enabled(log_level level) noexcept;

/// Queues `{"time","level","msg",…fields}` as one line for the log thread. Safe from any thread; never
/// blocks on stderr. When `max_queued_log_bytes` are already waiting, the line is dropped and counted.
void log(log_level level, std::string_view msg, const nlohmann::json& fields = nlohmann::json::object());

/// Bytes of log lines that may wait for a slow stderr before new lines are dropped.
inline constexpr std::size_t max_queued_log_bytes = 1024 * 1024;

/// Log lines dropped so far because stderr could not keep up.
std::uint64_t log_lines_dropped() noexcept;

/// Waits until every queued line is written, or `limit` passes (a stderr nobody reads must not hold up an
/// exit). True when everything was written. Call before the process exits.
bool flush_logs(std::chrono::milliseconds limit);

/// A `co_spawn` completion handler for detached service coroutines: an unexpected exception is logged
/// (with `where`, a string literal), never fatal.
inline auto log_coroutine_failure(const char* where) {
  return [where](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log(log_level::error, "coroutine failed", {{"where", where}, {"what", ex.what()}});
    }
  };
}

}  // namespace offload::core
