// Wire spellings of the job model's enumerations.
#include "name_table.hpp"

#include <offload/proto/job_enums.hpp>

namespace offload::proto {
namespace {

constexpr detail::name_table<job_state, 7> state_names{{
    {job_state::queued, "queued"},
    {job_state::running, "running"},
    {job_state::succeeded, "succeeded"},
    {job_state::failed, "failed"},
    {job_state::cancelled, "cancelled"},
    {job_state::timed_out, "timed_out"},
    {job_state::crashed, "crashed"},
}};

constexpr detail::name_table<lane, 2> lane_names{{{lane::thread, "thread"}, {lane::process, "process"}}};

constexpr detail::name_table<event_type, 11> event_names{{
    {event_type::queued, "queued"},
    {event_type::started, "started"},
    {event_type::progress, "progress"},
    {event_type::output, "output"},
    {event_type::output_truncated, "output_truncated"},
    {event_type::succeeded, "succeeded"},
    {event_type::failed, "failed"},
    {event_type::cancelled, "cancelled"},
    {event_type::timed_out, "timed_out"},
    {event_type::crashed, "crashed"},
    {event_type::retrying, "retrying"},
}};

}  // namespace

event_type terminal_event(job_state s) noexcept {
  switch (s) {
    case job_state::succeeded:
      return event_type::succeeded;
    case job_state::failed:
      return event_type::failed;
    case job_state::cancelled:
      return event_type::cancelled;
    case job_state::timed_out:
      return event_type::timed_out;
    case job_state::crashed:
      return event_type::crashed;
    case job_state::queued:
    case job_state::running:
      break;
  }
  return event_type::failed;
}

std::string_view to_string(job_state s) noexcept {
  return detail::name_of(state_names, s, "unknown");
}
std::string_view to_string(lane l) noexcept {
  return detail::name_of(lane_names, l, "unknown");
}
std::string_view to_string(event_type t) noexcept {
  return detail::name_of(event_names, t, "unknown");
}

std::optional<job_state> job_state_from_string(std::string_view text) noexcept {
  return detail::value_of(state_names, text);
}
std::optional<lane> lane_from_string(std::string_view text) noexcept {
  return detail::value_of(lane_names, text);
}
std::optional<event_type> event_type_from_string(std::string_view text) noexcept {
  return detail::value_of(event_names, text);
}

}  // namespace offload::proto
