// What a client submits: `{"type","input","lane"?,"priority"?,"timeout_ms"?,"idempotency_key"?}`.
#pragma once

#include <offload/proto/job_enums.hpp>
#include <offload/proto/result.hpp>

#include <nlohmann/json.hpp>

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

  friend bool operator==(const job_spec&, const job_spec&) = default;
};

/// Validates a parsed body. Unknown fields are rejected so that typos do not pass silently.
result<job_spec> parse_job_spec(const nlohmann::json& body);

/// Parses and validates body text (`invalid_json` or `invalid_input`).
result<job_spec> parse_job_spec_text(std::string_view text);

void to_json(nlohmann::json& j, const job_spec& spec);

}  // namespace offload::proto
