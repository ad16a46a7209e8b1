// Transition table of the job lifecycle, with each transition's actions.
#include "core/job_fsm.hpp"

#include <initializer_list>

namespace offload::core {

using proto::job_state;

namespace {

constexpr job_transition to(job_state next, std::initializer_list<job_action> actions) noexcept {
  job_transition t;
  t.next = next;
  for (const auto a : actions)
    t.action_list[t.action_count++] = a;
  return t;
}

using enum job_action;

// A job that ends before it ran leaves the queue; one that ends while running stops counting as running,
// and its handler is asked to stop only when the lane has not returned yet (cancel, timeout, interrupt).
// Every ending records the outcome, persists it before the job is retired, and wakes waiters. Every
// transition persists.
constexpr auto end_queued = {leave_queue, record_outcome, persist, retire, notify};
constexpr auto end_returned = {stop_running, record_outcome, persist, retire, notify};
constexpr auto end_interrupted = {stop_running, stop_handler, record_outcome, persist, retire, notify};
// An attempt that ends badly with attempts left: the job is queued again (after its back-off).
constexpr auto retry_returned = {stop_running, record_attempt, persist, requeue, notify};
constexpr auto retry_interrupted = {stop_running, stop_handler, record_attempt, persist, requeue, notify};
// An attempt that was claimed to run and may have begun on a node that stopped, though no start was stored.
constexpr auto retry_unstarted = {record_attempt, persist, requeue, notify};

}  // namespace

std::string_view to_string(job_input in) noexcept {
  switch (in) {
    case job_input::start:
      return "start";
    case job_input::succeed:
      return "succeed";
    case job_input::fail:
      return "fail";
    case job_input::cancel:
      return "cancel";
    case job_input::time_out:
      return "time_out";
    case job_input::crash:
      return "crash";
    case job_input::interrupt:
      return "interrupt";
  }
  return "unknown";
}

std::string_view to_string(job_action a) noexcept {
  switch (a) {
    case leave_queue:
      return "leave_queue";
    case start_running:
      return "start_running";
    case stop_running:
      return "stop_running";
    case stop_handler:
      return "stop_handler";
    case record_outcome:
      return "record_outcome";
    case retire:
      return "retire";
    case notify:
      return "notify";
    case record_attempt:
      return "record_attempt";
    case requeue:
      return "requeue";
    case persist:
      return "persist";
  }
  return "unknown";
}

std::optional<job_transition> transition(job_state from, job_input in, bool attempts_left) noexcept {
  switch (from) {
    case job_state::queued:
      switch (in) {
        case job_input::start:
          return to(job_state::running, {start_running, persist});
        case job_input::cancel:
          return to(job_state::cancelled, end_queued);
        // A job can fail before it runs, e.g. when its lane cannot start a process.
        case job_input::fail:
          return to(job_state::failed, end_queued);
        // A node claimed the job to start it and stopped before the store had the start (a cluster
        // take-over): the attempt may have begun there, so it counts as an interrupted one.
        case job_input::interrupt:
          return attempts_left ? to(job_state::queued, retry_unstarted) : to(job_state::failed, end_queued);
        default:
          return std::nullopt;
      }
    case job_state::running:
      switch (in) {
        case job_input::succeed:
          return to(job_state::succeeded, end_returned);
        case job_input::fail:
          return attempts_left ? to(job_state::queued, retry_returned) : to(job_state::failed, end_returned);
        case job_input::crash:
          return attempts_left ? to(job_state::queued, retry_returned) : to(job_state::crashed, end_returned);
        // Mostly the process that ran the attempt is gone (a restart, a node taken over); a cluster node that
        // drains interrupts attempts whose handlers still run here, and those are asked to stop.
        case job_input::interrupt:
          return attempts_left ? to(job_state::queued, retry_interrupted)
                               : to(job_state::failed, end_interrupted);
        case job_input::cancel:
          return to(job_state::cancelled, end_interrupted);
        case job_input::time_out:
          return attempts_left ? to(job_state::queued, retry_interrupted)
                               : to(job_state::timed_out, end_interrupted);
        case job_input::start:
          return std::nullopt;
      }
      return std::nullopt;
    default:
      // Terminal: exactly one terminal state per job.
      return std::nullopt;
  }
}

std::optional<job_state> next_state(job_state from, job_input in, bool attempts_left) noexcept {
  const auto t = transition(from, in, attempts_left);
  return t ? std::optional<job_state>{t->next} : std::nullopt;
}

}  // namespace offload::core
