// The queue of jobs waiting for a slot: per slot pool, highest priority first, FIFO within a priority,
// bounded per lane.
#pragma once

#include "core/job.hpp"

#include <array>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <utility>

namespace offload::core {

/// Priority queues bounded per lane: the thread lane's queue, and the process lane's (workers and commands
/// together) each hold at most `max_queued_per_lane` jobs, so a flood of one kind of work cannot refuse
/// the other. Removal of a cancelled job is exact, so the bound counts only live jobs.
class scheduler {
 public:
  explicit scheduler(std::size_t max_queued_per_lane) : max_queued_(max_queued_per_lane) {}

  /// True when no job of `l` can be added.
  bool full(proto::lane l) const noexcept { return size(l) >= max_queued_; }
  /// All queued jobs.
  std::size_t size() const noexcept;
  std::size_t size(proto::lane l) const noexcept;
  std::size_t size(slot_pool p) const noexcept { return queue(p).size(); }
  std::size_t capacity() const noexcept { return max_queued_; }

  /// The lane a slot pool belongs to.
  static proto::lane lane_of(slot_pool p) noexcept {
    return p == slot_pool::thread ? proto::lane::thread : proto::lane::process;
  }

  /// Adds a queued job. Returns false (and adds nothing) when its lane is full.
  bool push(std::shared_ptr<job> j);
  /// Takes the next job for `p`: highest priority, then oldest. Null when that queue is empty.
  std::shared_ptr<job> pop(slot_pool p);
  /// Removes a job that left the queue without running (cancelled). False if it was not queued here.
  bool remove(const job& j);

 private:
  // Key: (-priority, seq), so the smallest key is the next job to run.
  using key = std::pair<int, std::uint64_t>;
  using queue_type = std::map<key, std::shared_ptr<job>>;

  static key key_of(const job& j) noexcept { return {-j.spec.priority, j.seq}; }
  queue_type& queue(slot_pool p) noexcept { return queues_[static_cast<std::size_t>(p)]; }
  const queue_type& queue(slot_pool p) const noexcept { return queues_[static_cast<std::size_t>(p)]; }

  std::size_t max_queued_;
  std::array<queue_type, slot_pool_count> queues_;
};

}  // namespace offload::core
