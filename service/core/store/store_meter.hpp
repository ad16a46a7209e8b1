// What a store's writes cost, for /metrics: its commits (how long each took, how many operations each made
// durable), the ones that failed, and the operations still waiting for one.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace offload::core {

/// Recorded by whichever thread commits (the SQLite store thread, or the reactor for Redis), read by the
/// reactor for `/metrics`: relaxed atomics, a few per commit (and, for `pending`, one per reactor turn's
/// hand-over on SQLite, one per operation on Redis).
class store_meter {
 public:
  /// Upper bounds of the commit-time histogram, in seconds.
  static constexpr std::array<double, 12> bounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                 0.01,   0.025,   0.05,   0.1,   0.25,   1};

  struct snapshot {
    /// Commits per bucket (not cumulative), the last one past every bound.
    std::array<std::uint64_t, bounds.size() + 1> commits_by_bucket{};
    std::uint64_t commits = 0;
    double commit_seconds = 0;
    std::uint64_t operations = 0;
    std::uint64_t failed_commits = 0;
    std::uint64_t pending = 0;
  };

  /// A commit of `operations` operations that took `took`.
  void committed(std::chrono::steady_clock::duration took, std::size_t operations) noexcept;
  /// A commit that failed (nothing of it is durable).
  void failed() noexcept;
  /// Operations handed to the store (`+n`), or made durable or answered with a failure (`-n`).
  void pending(std::ptrdiff_t n) noexcept;
  snapshot read() const noexcept;

 private:
  std::array<std::atomic<std::uint64_t>, bounds.size() + 1> by_bucket_{};
  std::atomic<std::uint64_t> nanoseconds_{0};
  std::atomic<std::uint64_t> operations_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::int64_t> pending_{0};
};

}  // namespace offload::core
