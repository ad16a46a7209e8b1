// Measures the reactor's lag continuously: a timer asks to wake every `interval`, and how late it actually
// wakes is the time a ready handler would have waited. Feeds a histogram and the readiness check.
#pragma once

#include "core/metrics_registry.hpp"
#include "core/second_ring.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <vector>

namespace offload::core {

class reactor_monitor {
 public:
  using duration = std::chrono::steady_clock::duration;

  /// The lag over the last `summary_samples` samples (a minute at the default interval).
  struct summary {
    duration p50{};
    duration p99{};
    duration max{};
    std::size_t samples = 0;
  };

  /// Records into `metrics` family `offload_reactor_lag_seconds` (declared here).
  reactor_monitor(boost::asio::any_io_executor reactor, metrics_registry& metrics,
                  duration interval = std::chrono::milliseconds{20});

  /// Starts sampling; runs until `stop()`.
  void start();
  void stop();

  /// The largest lag seen over the last `window_seconds` seconds (including the current one).
  duration recent_max() const noexcept;

  static constexpr std::size_t window_seconds = 5;
  /// Samples `recent()` looks at: one minute at the default 20 ms.
  static constexpr std::size_t summary_samples = 3000;
  /// Seconds `max_per_second()` remembers.
  static constexpr std::size_t trend_seconds = 120;

  /// Quantiles of the recent samples (a copy and two selections of at most 3,000 values: ~20 µs).
  summary recent() const;

  /// The worst lag of each of the last `trend_seconds` whole seconds, oldest first (zero: no sample).
  std::vector<duration> max_per_second() const;

 private:
  boost::asio::awaitable<void> sample();

  boost::asio::steady_timer timer_;
  metrics_registry& metrics_;
  duration interval_;
  bool stopped_ = false;
  // Max lag per second.
  second_ring<duration, trend_seconds> max_by_second_;
  // The newest samples, in a ring: `samples_[next_sample_ % summary_samples]` is overwritten next.
  std::array<duration, summary_samples> samples_{};
  std::size_t next_sample_ = 0;
};

}  // namespace offload::core
