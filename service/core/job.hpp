// The server-side record of one job. Lives on the reactor; only the job_service mutates it.
#pragma once

#include "core/event_log.hpp"
#include "core/output_budget.hpp"

#include <offload/proto/error.hpp>
#include <offload/proto/job_spec.hpp>
#include <offload/proto/job_view.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>

namespace offload::core {

/// Which set of execution slots runs a job: the thread pool, the warm worker processes, or one child
/// process per job for operator commands. Both of the latter are the wire's "process" lane.
enum class slot_pool { thread, worker, command };
inline constexpr std::size_t slot_pool_count = 3;

struct job {
  using clock = std::chrono::system_clock;

  /// Monotonic submission number; orders listings and the queue within a priority.
  std::uint64_t seq = 0;
  /// Public id: the seq in hex followed by random hex, so ids are unique, sortable and hard to guess.
  std::string id;
  proto::job_spec spec;
  /// The lane actually chosen (the spec's, or the type's default).
  proto::lane lane = proto::lane::thread;
  slot_pool pool = slot_pool::thread;
  proto::job_state state = proto::job_state::queued;
  clock::time_point created_at{};
  std::optional<clock::time_point> started_at;
  std::optional<clock::time_point> finished_at;
  std::optional<proto::job_progress> progress;
  /// Set when `succeeded`.
  std::optional<nlohmann::json> result;
  /// Set in every other terminal state.
  std::optional<proto::error> error;
  event_log events;
  /// Output logged so far against `max_log_bytes`, and whether later output was dropped.
  output_budget output;
  /// Asked to stop on cancel, timeout or shutdown; the lane passes its token to the handler.
  std::stop_source stop;

  /// The API's snapshot of this job.
  proto::job_view view() const;
};

}  // namespace offload::core
