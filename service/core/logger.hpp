// Structured logs: one JSON object per line on stderr.
#pragma once

#include <nlohmann/json.hpp>

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

/// Writes `{"time","level","msg",…fields}` as one line. Safe from any thread (one write per line).
void log(log_level level, std::string_view msg, const nlohmann::json& fields = nlohmann::json::object());

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
