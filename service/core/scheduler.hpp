// The queue of jobs waiting for a slot: per slot pool, highest priority first, FIFO within a priority.
#pragma once

#include "core/job.hpp"

#include <array>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <utility>

namespace offload::core {

/// A bounded priority queue. Removal of a cancelled job is exact, so the bound counts only live jobs.
class scheduler {
 public:
  explicit scheduler(std::size_t max_queued) : max_queued_(max_queued) {}

  /// True when no job can be added.
  bool full() const noexcept { return size() >= max_queued_; }
  std::size_t size() const noexcept;
  std::size_t size(slot_pool p) const noexcept { return queue(p).size(); }
  std::size_t capacity() const noexcept { return max_queued_; }

  /// Adds a queued job. Returns false (and adds nothing) when full.
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
