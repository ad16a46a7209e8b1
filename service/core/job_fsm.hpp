// The job lifecycle as an I/O-free state machine: `queued → running → exactly one terminal state`.
#pragma once

#include <offload/proto/job_enums.hpp>

#include <optional>
#include <string_view>

namespace offload::core {

/// What can happen to a job.
enum class job_input {
  /// A lane took the job.
  start,
  /// The handler returned a result.
  succeed,
  /// The handler, the command or the lane reported an error.
  fail,
  /// A client cancelled (or the server shut down).
  cancel,
  /// The job's deadline passed.
  time_out,
  /// Its process died from a signal or broke the protocol.
  crash,
};

std::string_view to_string(job_input in) noexcept;

/// The state after `in`, or `std::nullopt` when `in` is illegal in `from` (terminal states accept nothing).
std::optional<proto::job_state> next_state(proto::job_state from, job_input in) noexcept;

}  // namespace offload::core
