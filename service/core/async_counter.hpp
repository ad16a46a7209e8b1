// A count of things in progress (connections, requests, sessions) that a shutdown can await down to zero,
// woken by the reactor when the count reaches it: no polling.
#pragma once

#include <offload/asio_support.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>

namespace offload::core {

/// Reactor-only, like everything it counts.
class async_counter {
 public:
  explicit async_counter(asio::any_io_executor reactor) : zero_(std::move(reactor)) {}

  /// Counts one more for as long as it lives.
  class guard {
   public:
    explicit guard(async_counter& c) noexcept : counter_(c) { ++counter_.count_; }
    ~guard() { counter_.release(); }
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;

   private:
    async_counter& counter_;
  };

  std::size_t value() const noexcept { return count_; }

  /// Completes when the count is zero, or after `limit`, whichever comes first.
  asio::awaitable<void> async_wait_zero(std::chrono::steady_clock::duration limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (count_ > 0 && std::chrono::steady_clock::now() < deadline) {
      zero_.expires_at(deadline);
      co_await zero_.async_wait(use_tuple);
    }
  }

 private:
  void release() {
    if (--count_ == 0) zero_.cancel();
  }

  std::size_t count_ = 0;
  // Cancelled to wake a waiter; a wake with a non-zero count (a newcomer) just waits again.
  asio::steady_timer zero_;
};

}  // namespace offload::core
