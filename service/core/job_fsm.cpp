// Transition table of the job lifecycle.
#include "core/job_fsm.hpp"

namespace offload::core {

using proto::job_state;

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
  }
  return "unknown";
}

std::optional<job_state> next_state(job_state from, job_input in) noexcept {
  switch (from) {
    case job_state::queued:
      switch (in) {
        case job_input::start:
          return job_state::running;
        case job_input::cancel:
          return job_state::cancelled;
        // A job can fail before it runs, e.g. when its lane cannot start a process.
        case job_input::fail:
          return job_state::failed;
        default:
          return std::nullopt;
      }
    case job_state::running:
      switch (in) {
        case job_input::succeed:
          return job_state::succeeded;
        case job_input::fail:
          return job_state::failed;
        case job_input::cancel:
          return job_state::cancelled;
        case job_input::time_out:
          return job_state::timed_out;
        case job_input::crash:
          return job_state::crashed;
        case job_input::start:
          return std::nullopt;
      }
      return std::nullopt;
    default:
      // Terminal: exactly one terminal state per job.
      return std::nullopt;
  }
}

}  // namespace offload::core
