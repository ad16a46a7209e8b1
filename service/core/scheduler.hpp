// The queue of jobs waiting for a lane: per lane, highest priority first, FIFO within a priority.
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
  std::size_t size() const noexcept { return queues_[0].size() + queues_[1].size(); }
  std::size_t size(proto::lane l) const noexcept { return queue(l).size(); }
  std::size_t capacity() const noexcept { return max_queued_; }

  /// Adds a queued job. Returns false (and adds nothing) when full.
  bool push(std::shared_ptr<job> j);
  /// Takes the next job for `l`: highest priority, then oldest. Null when that lane's queue is empty.
  std::shared_ptr<job> pop(proto::lane l);
  /// Removes a job that left the queue without running (cancelled). False if it was not queued here.
  bool remove(const job& j);

 private:
  // Key: (-priority, seq), so the smallest key is the next job to run.
  using key = std::pair<int, std::uint64_t>;
  using queue_type = std::map<key, std::shared_ptr<job>>;

  static key key_of(const job& j) noexcept { return {-j.spec.priority, j.seq}; }
  queue_type& queue(proto::lane l) noexcept { return queues_[static_cast<std::size_t>(l)]; }
  const queue_type& queue(proto::lane l) const noexcept { return queues_[static_cast<std::size_t>(l)]; }

  std::size_t max_queued_;
  std::array<queue_type, 2> queues_;
};

}  // namespace offload::core
