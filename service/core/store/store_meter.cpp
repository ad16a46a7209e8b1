// The store's commit counters.
#include "core/store/store_meter.hpp"

#include <algorithm>

namespace offload::core {

void store_meter::committed(std::chrono::steady_clock::duration took, std::size_t operations) noexcept {
  const double seconds = std::chrono::duration<double>(took).count();
  const auto at =
      static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin());
  by_bucket_[at].fetch_add(1, std::memory_order_relaxed);
  nanoseconds_.fetch_add(
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(took).count()),
      std::memory_order_relaxed);
  operations_.fetch_add(operations, std::memory_order_relaxed);
}

void store_meter::failed() noexcept {
  failed_.fetch_add(1, std::memory_order_relaxed);
}

void store_meter::pending(std::ptrdiff_t n) noexcept {
  pending_.fetch_add(n, std::memory_order_relaxed);
}

store_meter::snapshot store_meter::read() const noexcept {
  snapshot s;
  for (std::size_t i = 0; i < by_bucket_.size(); ++i) {
    s.commits_by_bucket[i] = by_bucket_[i].load(std::memory_order_relaxed);
    s.commits += s.commits_by_bucket[i];
  }
  s.commit_seconds = static_cast<double>(nanoseconds_.load(std::memory_order_relaxed)) / 1e9;
  s.operations = operations_.load(std::memory_order_relaxed);
  s.failed_commits = failed_.load(std::memory_order_relaxed);
  s.pending = static_cast<std::uint64_t>(std::max<std::int64_t>(0, pending_.load(std::memory_order_relaxed)));
  return s;
}

}  // namespace offload::core
