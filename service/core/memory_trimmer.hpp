// Gives the heap memory freed after a burst back to the operating system. glibc keeps what the service frees
// for reuse and returns it by itself only from the top of the heap: after a burst that queued tens of
// thousands of jobs, the resident set stays near its peak although those jobs are gone, because a few live
// allocations made late (the newest finished jobs kept in memory, say) sit above the freed space.
// `malloc_trim` hands back every whole free page, wherever it is.
//
// The reactor decides when, at almost no cost: once per `interval` it asks whether the service is calm
// (offloadd: no job queued and none submitted since the last check); after two calm checks in a row (the
// burst has drained) it reads the resident set, and when that grew by at least `min_free` since the last
// look, a helper thread looks: it asks glibc how much of the heap is free (`mallinfo2`) and trims when that
// is at least `min_free`. Both calls walk and lock the allocator's arenas, which is why they run on the
// helper and only when calm (a reactor `malloc` meanwhile waits for the arena: about 0.4 ms per MiB given
// back, measured; the trim's duration is logged, and `offload_reactor_lag_seconds` shows any pause). The
// helper thread starts with the first look, so a service that never grew has none.
#pragma once

#include "core/metrics_registry.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

namespace offload::core {

class memory_trimmer {
 public:
  struct settings {
    /// Free heap memory worth a trim, and the growth of the resident set since the last look that makes
    /// another look worthwhile (bytes); 0 turns the trimmer off.
    std::uint64_t min_free = std::uint64_t{8} << 20;
    /// How often the reactor asks whether the service is calm.
    std::chrono::milliseconds interval{1000};
  };

  /// What one look found and did.
  struct look {
    std::uint64_t resident_before = 0;
    std::uint64_t resident_after = 0;
    /// Free bytes in the heap's arenas (`mallinfo2().fordblks`); 0 where glibc is not the allocator.
    std::uint64_t heap_free = 0;
    bool trimmed = false;
    /// How long measuring the free heap and trimming it took.
    std::chrono::steady_clock::duration measuring{}, trimming{};
  };

  /// `calm` (called on the reactor once per check) says whether the service is calm; counts into `metrics`
  /// (declared here).
  memory_trimmer(boost::asio::any_io_executor reactor, metrics_registry& metrics, std::function<bool()> calm,
                 settings s);
  ~memory_trimmer();
  memory_trimmer(const memory_trimmer&) = delete;
  memory_trimmer& operator=(const memory_trimmer&) = delete;

  /// Starts the checks (nothing when `min_free` is 0); they run until `stop()`.
  void start();
  void stop();
  /// Waits for a look under way to end. Call once the reactor has stopped, before it is shut down: the
  /// look's report to the reactor is then dropped with the reactor's other pending work.
  void join();

  /// Looks started, whether one is under way, and the looks that trimmed.
  std::uint64_t looks() const noexcept { return looks_; }
  bool looking() const noexcept { return looking_; }
  std::uint64_t trims() const noexcept { return trims_; }
  std::uint64_t trimmed_bytes() const noexcept { return trimmed_bytes_; }

  /// One look, on the calling thread: measures the free heap and trims when it is at least `min_free`.
  static look look_and_trim(std::uint64_t min_free);

 private:
  boost::asio::awaitable<void> check();
  void looked(const look& l);

  boost::asio::steady_timer timer_;
  metrics_registry& metrics_;
  std::function<bool()> calm_;
  settings settings_;
  // Started at the first look.
  std::optional<boost::asio::thread_pool> helper_;
  bool stopped_ = false;
  bool looking_ = false;
  unsigned calm_checks_ = 0;
  // The resident set after the last look (or at start): the next look waits for it to grow by `min_free`.
  std::uint64_t floor_ = 0;
  std::uint64_t looks_ = 0, trims_ = 0, trimmed_bytes_ = 0;
};

}  // namespace offload::core
