// The small enumerations of the job model: lifecycle states, lanes and event types, with wire spellings.
// They are kept together because each is a handful of names that only make sense with the others.
#pragma once

#include <optional>
#include <string_view>

namespace offload::proto {

/// Where a job's lifecycle stands. `queued → running → one terminal state`.
enum class job_state {
  /// Accepted and waiting for a free slot in its lane.
  queued,
  /// Handed to a lane and running.
  running,
  /// Ended with a result.
  succeeded,
  /// Ended with an error from the handler or the command.
  failed,
  /// Cancelled by a client (or by the server while shutting down).
  cancelled,
  /// Ran past its `timeout_ms`.
  timed_out,
  /// The process running it died from a signal or broke the worker protocol.
  crashed,
};

/// Which executor runs a job.
enum class lane {
  /// Threads inside `offloadd`: cheap, for trusted CPU-bound built-in work.
  thread,
  /// Child processes: isolated, with enforced limits and timeouts.
  process,
};

/// The kinds of entries in a job's event log.
enum class event_type {
  /// The job was accepted.
  queued,
  /// A lane started running it.
  started,
  /// The handler reported progress (`fraction`, `note`).
  progress,
  /// A chunk of a process's stdout or stderr (`stream`, `data`).
  output,
  /// Output past the per-job log cap was dropped; sent once.
  output_truncated,
  /// Terminal: the job produced `result`.
  succeeded,
  /// Terminal: the job failed with `error`.
  failed,
  /// Terminal: the job was cancelled (`error`).
  cancelled,
  /// Terminal: the job timed out (`error`).
  timed_out,
  /// Terminal: the job's process crashed (`error`).
  crashed,
  /// The attempt ended badly and the job is queued again (`attempt`, `error`, `retry_at`).
  retrying,
};

/// True for the states a job never leaves.
constexpr bool is_terminal(job_state s) noexcept {
  return s != job_state::queued && s != job_state::running;
}

/// True for the event types that end a job's log.
constexpr bool is_terminal(event_type t) noexcept {
  return t == event_type::succeeded || t == event_type::failed || t == event_type::cancelled ||
         t == event_type::timed_out || t == event_type::crashed;
}

/// The terminal event that records a terminal state (`succeeded` → `event_type::succeeded`, …).
event_type terminal_event(job_state s) noexcept;

std::string_view to_string(job_state s) noexcept;
std::string_view to_string(lane l) noexcept;
std::string_view to_string(event_type t) noexcept;

std::optional<job_state> job_state_from_string(std::string_view text) noexcept;
std::optional<lane> lane_from_string(std::string_view text) noexcept;
std::optional<event_type> event_type_from_string(std::string_view text) noexcept;

}  // namespace offload::proto
