// Tuning of the job service: lane sizes, queue bound and retention. Plain data with defaults.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace offload::core {

struct service_config {
  /// Threads in the thread lane; 0 means one per CPU.
  std::size_t threads = 0;
  /// Jobs waiting in each lane (thread, process); beyond it that lane's submissions get `queue_full`.
  std::size_t max_queued = 10000;
  /// Finished jobs kept for `GET` and replay; the oldest are evicted first.
  std::size_t retain_jobs = 100000;
  /// How long a finished job is kept.
  std::chrono::seconds retain_for{3600};
  /// Bytes of `output` events logged per job; past it one `output_truncated` event replaces the rest.
  std::uint64_t max_log_bytes = 16 * 1024 * 1024;
  /// A result larger than this (as JSON, approximately) fails its job with `result_too_large`.
  std::uint64_t max_result_bytes = 16 * 1024 * 1024;
  /// Added to the niceness of the thread lane's threads: when the lanes saturate the CPUs, the reactor
  /// (every request, every event) still gets a CPU at once. 0 leaves them at the service's priority.
  int lane_nice = 10;
  /// How often retention runs and the completion rate (for `Retry-After`) is sampled.
  std::chrono::milliseconds sweep_interval{1000};
};

}  // namespace offload::core
