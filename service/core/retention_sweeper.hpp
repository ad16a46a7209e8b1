// Age- and count-based retention of finished jobs, run periodically on the reactor in small slices.
#pragma once

#include "core/store/job_repository.hpp"

#include <offload/asio_support.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <functional>

namespace offload::core {

/// Once per interval: evicts what the store's bounds no longer keep, at most `slice` jobs per turn of the
/// reactor, then calls `after_each` (the service samples its completion rates there). Reactor-only.
class retention_sweeper {
 public:
  /// Finished jobs freed per turn of the reactor. At thousands of jobs a second, one sweep's worth freed
  /// at once stalled the reactor for 100 ms and more (bench `responsive`, max latency).
  static constexpr std::size_t slice = 256;

  retention_sweeper(asio::any_io_executor reactor, job_repository& store, std::chrono::milliseconds interval,
                    std::function<void()> after_each);

  /// Starts the periodic sweep; `stop` ends it at its next wake-up.
  void start();
  void stop();

 private:
  asio::awaitable<void> run();

  asio::any_io_executor reactor_;
  job_repository& store_;
  std::chrono::milliseconds interval_;
  std::function<void()> after_each_;
  asio::steady_timer timer_;
  bool stopping_ = false;
};

}  // namespace offload::core
