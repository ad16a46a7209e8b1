// The server-side model of one job: the persisted record, and the runtime part that never reaches disk.
// Lives on the reactor; only the job_service mutates it.
#pragma once

#include "core/event_log.hpp"
#include "core/job_result.hpp"
#include "core/output_budget.hpp"

#include <offload/proto/error.hpp>
#include <offload/proto/job_spec.hpp>
#include <offload/proto/job_view.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

namespace offload::core {

/// Which set of execution slots runs a job: the thread pool, the built-in warm worker processes, one child
/// process per job for operator commands, or (from `first_external` on) an operator-defined worker pool.
/// All but the first are the wire's "process" lane.
enum class slot_pool : std::size_t { thread, worker, command, first_external };

/// The slot pool of operator-defined worker pool number `index`.
constexpr slot_pool external_slot_pool(std::size_t index) noexcept {
  return static_cast<slot_pool>(static_cast<std::size_t>(slot_pool::first_external) + index);
}
/// The wire's lane of a slot pool.
constexpr proto::lane lane_of(slot_pool p) noexcept {
  return p == slot_pool::thread ? proto::lane::thread : proto::lane::process;
}

/// What a job store keeps of a job: everything a `GET`, a listing, a replay or a restart needs.
struct job_record {
  using clock = std::chrono::system_clock;

  /// Monotonic submission number; orders listings and the queue within a priority.
  std::uint64_t seq = 0;
  /// Public id (see `job_id`).
  std::string id;
  proto::job_spec spec;
  /// The lane actually chosen (the spec's, or the type's default).
  proto::lane lane = proto::lane::thread;
  slot_pool pool = slot_pool::thread;
  proto::job_state state = proto::job_state::queued;
  clock::time_point created_at{};
  /// Of the current (or last) attempt.
  std::optional<clock::time_point> started_at;
  std::optional<clock::time_point> finished_at;
  /// The attempt running or last run, from 1.
  std::uint32_t attempt = 1;
  /// Not eligible to run before this instant (a delay, `run_at`, or a retry's back-off).
  std::optional<clock::time_point> not_before;
  /// The errors of the attempts before the current one, oldest first.
  std::vector<proto::error> earlier_errors;
  std::optional<proto::job_progress> progress;
  /// Set when `succeeded`: the text inside the terminal event's frame (one copy).
  std::optional<job_result> result;
  /// Set in every other terminal state.
  std::optional<proto::error> error;
  event_log events;
  /// Output logged so far against `max_log_bytes`, and whether later output was dropped.
  output_budget output;

  /// The API's snapshot of this job; without `result` when `with_result` is false (listings' summaries),
  /// with the spec's `input` when `with_input`.
  proto::job_view view(bool with_result = true, bool with_input = false) const;
};

/// A job on the reactor: its record plus what only the running process needs.
struct job : job_record {
  /// Asked to stop on cancel, timeout or shutdown; the lane passes its token to the handler. A new one
  /// for each attempt.
  std::stop_source stop;
  /// Whether the store acknowledged the job (it may be reported to the client).
  bool stored = false;
  /// The fencing token of this node's claim on the job in a shared store (0: not claimed from one).
  std::uint64_t claim = 0;
  /// Set by the job service for a shared store's add when this node has room for the job: the add then
  /// also claims it for this node (and sets `claim`), unless the job is delayed or a job that a claim would
  /// take first waits in the queues of its pool.
  bool claim_at_add = false;
  /// With `claim_at_add`: a free slot waits for the job, so a claim by the add starts it at once (rather
  /// than ahead of a slot). Such a claim counts as the attempt's start should this node stop before the
  /// store has the start (see `may_have_begun`).
  bool run_at_add = false;
  /// Set on a job taken over from a node whose lease passed: that node had claimed it to start it at once,
  /// and the store has no start of it, so the attempt may have begun there (it counts as interrupted).
  bool may_have_begun = false;
  /// In a shared store: the node that holds the job (empty when none), as last read.
  std::string owner;
  /// This node held the job and lost it (its lease passed and another node took it over): whatever its
  /// run still reports is dropped.
  bool lost = false;
  /// When the progress was last handed to the store (it is saved at most every 250 ms per job).
  std::chrono::steady_clock::time_point progress_saved{};
};

/// A new queued job created now: submission number `seq`, its id from `seq` and the random `salt`.
std::shared_ptr<job> new_job(std::uint64_t seq, std::uint32_t salt, proto::job_spec spec, proto::lane lane,
                             slot_pool pool);

}  // namespace offload::core
