// Error codes of the Offload wire protocol: API errors and the reasons a job ended badly.
#pragma once

#include <optional>
#include <string_view>

namespace offload::proto {

/// Every error code that can appear in `{"error":{"code":…}}`, spelled in snake_case on the wire.
enum class errc {
  /// The request body is not well-formed JSON (or nests too deeply).
  invalid_json,
  /// The JSON is well-formed but a field is missing, of the wrong type or out of range.
  invalid_input,
  /// The job type names no registered handler or command.
  unknown_type,
  /// The requested lane is not available for this type or on this server.
  lane_unavailable,
  /// No job (or route) with that name.
  not_found,
  /// The route exists but not for this HTTP method.
  method_not_allowed,
  /// The endpoint speaks WebSocket only; send an upgrade request.
  upgrade_required,
  /// The request body is larger than the server accepts.
  payload_too_large,
  /// The HTTP request itself is malformed.
  bad_request,
  /// The request headers are larger than the server accepts.
  headers_too_large,
  /// The queue is full; retry after the advertised delay.
  queue_full,
  /// The server is shutting down and accepts no new jobs.
  draining,
  /// The idempotency key was used before with a different job body.
  idempotency_conflict,
  /// The job has already reached a terminal state.
  already_finished,
  /// Missing or invalid credentials.
  unauthorized,
  /// An unexpected server-side failure; details are in the server log only.
  internal,
  /// The job was cancelled by a client.
  cancelled,
  /// The job ran past its `timeout_ms`.
  timed_out,
  /// The job was cancelled because the server shut down before it finished.
  shutdown,
  /// The handler reported a failure or threw while running the job.
  handler_error,
  /// The command exited with a non-zero code (the message carries the code and the tail of stderr).
  command_failed,
  /// The job's process was killed by a signal (the message names it, e.g. SIGSEGV).
  crashed,
  /// The job's output exceeded its cap; the process tree was killed.
  output_limit,
  /// A worker process sent a malformed or oversize protocol line; it was replaced.
  protocol_error,
  /// The job's process could not be started.
  spawn_failed,
  /// Process workers keep dying at start-up; the pool is backing off.
  worker_unavailable,
  /// The server is up but too busy to serve more (its reactor lags); readiness says so.
  overloaded,
  /// The job's process used more CPU time than its `limits.cpu_seconds`; it was stopped.
  cpu_limit,
  /// The job store cannot write (disk full, I/O error); nothing was accepted. Retry later.
  storage_unavailable,
  /// offloadd stopped (crash, kill, power loss) while the job ran and it had no attempt left.
  interrupted,
  /// A `/v1/ws` socket already follows as many jobs as allowed (`--ws-max-subscriptions`).
  too_many_subscriptions,
  /// The job's result is larger than `--max-result-bytes`; the job failed.
  result_too_large,
  /// A process of the job's cgroup went over `limits.memory_mb` and the kernel killed it.
  memory_limit,
};

/// The wire spelling of a code, e.g. `"invalid_json"`.
std::string_view to_string(errc code) noexcept;

/// Parses the wire spelling; `std::nullopt` for an unknown code.
std::optional<errc> errc_from_string(std::string_view text) noexcept;

}  // namespace offload::proto
