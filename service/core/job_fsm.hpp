// The job lifecycle as an I/O-free state machine, `queued → running → exactly one terminal state`, that
// returns the side effects of each transition as actions (in the manner of Boost.Redis's exec_fsm): the job
// service performs them, in order, and does nothing a transition did not ask for.
#pragma once

#include <offload/proto/job_enums.hpp>

#include <array>
#include <cstddef>
#include <optional>
#include <span>
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

/// A side effect of a transition.
enum class job_action {
  /// Take the job out of the scheduler's queue: it ends without having run.
  leave_queue,
  /// Stamp `started_at`, append the `started` event, count the job as running.
  start_running,
  /// The job no longer counts as running.
  stop_running,
  /// Ask the handler or process to stop: the job ended while its lane still runs it (cancel, timeout).
  stop_handler,
  /// Stamp `finished_at`, keep the result or the error, append the terminal event.
  record_outcome,
  /// Count the outcome (metrics, completion rate) and hand the job over to retention.
  retire,
  /// Wake whoever waits for jobs to end (a drain).
  notify,
};

/// A legal transition: the next state, and the actions to perform in this order.
struct job_transition {
  static constexpr std::size_t max_actions = 6;

  proto::job_state next = proto::job_state::queued;
  std::array<job_action, max_actions> action_list{};
  std::size_t action_count = 0;

  std::span<const job_action> actions() const noexcept { return {action_list.data(), action_count}; }
};

std::string_view to_string(job_input in) noexcept;
std::string_view to_string(job_action a) noexcept;

/// The transition `in` causes in state `from`, or `std::nullopt` when `in` is illegal there (terminal
/// states accept nothing).
std::optional<job_transition> transition(proto::job_state from, job_input in) noexcept;

/// The state after `in`, or `std::nullopt` when it is illegal: `transition(from, in)->next`.
std::optional<proto::job_state> next_state(proto::job_state from, job_input in) noexcept;

}  // namespace offload::core
