// Measures the reactor's lag continuously: a timer asks to wake every `interval`, and how late it actually
// wakes is the time a ready handler would have waited. Feeds a histogram and the readiness check.
#pragma once

#include "core/metrics_registry.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>

namespace offload::core {

class reactor_monitor {
 public:
  using duration = std::chrono::steady_clock::duration;

  /// Records into `metrics` family `offload_reactor_lag_seconds` (declared here).
  reactor_monitor(boost::asio::any_io_executor reactor, metrics_registry& metrics,
                  duration interval = std::chrono::milliseconds{20});

  /// Starts sampling; runs until `stop()`.
  void start();
  void stop();

  /// The largest lag seen over the last `window_seconds` seconds (including the current one).
  duration recent_max() const noexcept;

  static constexpr std::size_t window_seconds = 5;

 private:
  boost::asio::awaitable<void> sample();

  boost::asio::steady_timer timer_;
  metrics_registry& metrics_;
  duration interval_;
  bool stopped_ = false;
  // Max lag per second, in a ring indexed by steady-clock seconds.
  std::array<duration, window_seconds> max_by_second_{};
  std::array<long long, window_seconds> second_of_slot_{};
};

}  // namespace offload::core
