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
  /// offloadd stopped while the job ran (found `running` in the store at start).
  interrupt,
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
  /// Keep the attempt's error, append a `retrying` event, count the next attempt and set its back-off.
  record_attempt,
  /// Put the job back in the queue (or among the delayed jobs, until its back-off ends).
  requeue,
  /// Hand the changed record and the events the transition appended to the job store.
  persist,
};

/// A legal transition: the next state, and the actions to perform in this order.
struct job_transition {
  static constexpr std::size_t max_actions = 7;

  proto::job_state next = proto::job_state::queued;
  std::array<job_action, max_actions> action_list{};
  std::size_t action_count = 0;

  std::span<const job_action> actions() const noexcept { return {action_list.data(), action_count}; }
};

std::string_view to_string(job_input in) noexcept;
std::string_view to_string(job_action a) noexcept;

/// The transition `in` causes in state `from`, or `std::nullopt` when `in` is illegal there (terminal
/// states accept nothing). A running job whose attempt failed, crashed, timed out or was interrupted goes
/// back to `queued` when `attempts_left`; a cancel always ends it.
std::optional<job_transition> transition(proto::job_state from, job_input in,
                                         bool attempts_left = false) noexcept;

/// The state after `in`, or `std::nullopt` when it is illegal: `transition(from, in)->next`.
std::optional<proto::job_state> next_state(proto::job_state from, job_input in,
                                           bool attempts_left = false) noexcept;

}  // namespace offload::core
