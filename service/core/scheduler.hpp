// The queue of jobs waiting for a slot: per slot pool, highest priority first, FIFO within a priority,
// bounded per lane; and the jobs not yet eligible (a delay, `run_at`, a retry's back-off) until they are.
#pragma once

#include "core/job.hpp"

#include <array>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace offload::core {

/// Priority queues bounded per lane: the thread lane's queue, and the process lane's (workers and commands
/// together) each hold at most `max_queued_per_lane` jobs, so a flood of one kind of work cannot refuse
/// the other. Removal of a cancelled job is exact, so the bound counts only live jobs.
class scheduler {
 public:
  explicit scheduler(std::size_t max_queued_per_lane) : max_queued_(max_queued_per_lane) {}

  using time_point = std::chrono::system_clock::time_point;

  /// True when no job of `l` can be added.
  bool full(proto::lane l) const noexcept { return size(l) >= max_queued_; }
  /// All queued jobs, eligible or not.
  std::size_t size() const noexcept;
  std::size_t size(proto::lane l) const noexcept;
  /// Eligible jobs waiting for a slot of `p`.
  std::size_t size(slot_pool p) const noexcept { return queue(p).size(); }
  /// Jobs not yet eligible.
  std::size_t delayed() const noexcept { return delayed_.size(); }
  std::size_t capacity() const noexcept { return max_queued_; }

  /// The lane a slot pool belongs to.
  static proto::lane lane_of(slot_pool p) noexcept { return core::lane_of(p); }

  /// Adds a queued job: among the delayed ones while its `not_before` is after `now`. Returns false (and
  /// adds nothing) when its lane is full, unless `over_bound` (a job accepted before: recovered or retried).
  bool push(std::shared_ptr<job> j, time_point now, bool over_bound = false);
  /// Takes the next eligible job for `p`: highest priority, then oldest. Null when there is none.
  std::shared_ptr<job> pop(slot_pool p);
  /// Removes a job that left the queue without running (cancelled). False if it was not queued here.
  bool remove(const job& j);
  /// When the next delayed job becomes eligible, if any is delayed.
  std::optional<time_point> next_due() const;
  /// Makes every delayed job due at `now` eligible; returns how many.
  std::size_t release_due(time_point now);

 private:
  // Key: (-priority, seq), so the smallest key is the next job to run.
  using key = std::pair<int, std::uint64_t>;
  using queue_type = std::map<key, std::shared_ptr<job>>;

  static key key_of(const job& j) noexcept { return {-j.spec.priority, j.seq}; }
  // One queue per slot pool, made on first use (operator-defined pools come after the three built-in ones).
  queue_type& queue(slot_pool p);
  const queue_type& queue(slot_pool p) const noexcept;

  std::size_t max_queued_;
  std::vector<queue_type> queues_;
  // By (not_before, seq): the earliest first.
  std::map<std::pair<time_point, std::uint64_t>, std::shared_ptr<job>> delayed_;
  std::array<std::size_t, 2> delayed_per_lane_{};
};

}  // namespace offload::core
