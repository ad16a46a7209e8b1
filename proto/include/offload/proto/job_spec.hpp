// What a client submits: `{"type","input","lane"?,"priority"?,"timeout_ms"?,"idempotency_key"?,
// "max_attempts"?,"retry_backoff_ms"?,"delay_ms"?|"run_at"?}`.
#pragma once

#include <offload/proto/job_enums.hpp>
#include <offload/proto/result.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace offload::proto {

/// A job submission, validated for shape; the type and its input are checked by the server's registry.
struct job_spec {
  static constexpr int min_priority = 0;
  static constexpr int max_priority = 9;
  /// Higher runs first; equal priorities run in submission order.
  static constexpr int default_priority = 5;
  static constexpr std::uint64_t max_timeout_ms = 24ull * 3600 * 1000;
  static constexpr std::size_t max_type_bytes = 64;
  static constexpr std::size_t max_idempotency_key_bytes = 128;
  static constexpr std::uint32_t max_max_attempts = 100;
  static constexpr std::uint64_t default_retry_backoff_ms = 1000;
  /// The first retry waits about `retry_backoff_ms`, each further one twice as long, never more than this.
  static constexpr std::uint64_t max_retry_backoff_ms = 3600ull * 1000;
  /// The furthest a job can be scheduled ahead: 30 days.
  static constexpr std::uint64_t max_delay_ms = 30ull * 24 * 3600 * 1000;

  /// Registered type name: `[a-z0-9_.-]`, 1 to 64 bytes.
  std::string type{};
  /// Handler input; always a JSON object.
  nlohmann::json input = nlohmann::json::object();
  /// Requested lane; the server picks the type's default when absent.
  std::optional<proto::lane> lane{};
  /// 0 (lowest) to 9 (highest).
  int priority = default_priority;
  /// Running time allowed, from start to terminal state.
  std::optional<std::uint64_t> timeout_ms{};
  /// Client-chosen key: resubmitting the same body with the same key returns the same job.
  std::optional<std::string> idempotency_key{};
  /// Runs allowed, the first included (1 to 100; 1 when absent): `failed`, `crashed`, `timed_out` and
  /// `interrupted` attempts are retried while attempts are left, `cancelled` never.
  std::optional<std::uint32_t> max_attempts{};
  /// Base of the exponential back-off between attempts (1 ms to 1 h; 1 s when absent).
  std::optional<std::uint64_t> retry_backoff_ms{};
  /// Not eligible to run before this many milliseconds after submission (0 to 30 days).
  std::optional<std::uint64_t> delay_ms{};
  /// Not eligible to run before this instant (RFC 3339). Exclusive with `delay_ms`.
  std::optional<std::chrono::system_clock::time_point> run_at{};

  std::uint32_t attempts() const noexcept { return max_attempts.value_or(1); }
  std::uint64_t backoff_ms() const noexcept { return retry_backoff_ms.value_or(default_retry_backoff_ms); }

  friend bool operator==(const job_spec&, const job_spec&) = default;
};

/// Validates a parsed body. Unknown fields are rejected so that typos do not pass silently.
result<job_spec> parse_job_spec(const nlohmann::json& body);

/// Parses and validates body text (`invalid_json` or `invalid_input`).
result<job_spec> parse_job_spec_text(std::string_view text);

void to_json(nlohmann::json& j, const job_spec& spec);

/// The bytes of `dump_json(nlohmann::json(spec))`, written member by member (no value tree): how a store
/// keeps a spec.
std::string dump_job_spec(const job_spec& spec);

}  // namespace offload::proto
