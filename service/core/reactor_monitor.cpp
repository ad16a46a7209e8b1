// The lag sampler.
#include "core/reactor_monitor.hpp"

#include "core/logger.hpp"

#include <offload/asio_support.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace offload::core {

namespace {

long long second_of(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

reactor_monitor::reactor_monitor(asio::any_io_executor reactor, metrics_registry& metrics, duration interval)
    : timer_(std::move(reactor)), metrics_(metrics), interval_(interval) {
  metrics_.declare("offload_reactor_lag_seconds",
                   "How late the reactor ran a timer due every 20 ms: what any ready handler waited.",
                   metrics_registry::kind::histogram,
                   {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1});
  metrics_.ensure("offload_reactor_lag_seconds", {});
  second_of_slot_.fill(-1);
}

void reactor_monitor::start() {
  asio::co_spawn(timer_.get_executor(), sample(), log_coroutine_failure("reactor monitor"));
}

void reactor_monitor::stop() {
  stopped_ = true;
  timer_.cancel();
}

reactor_monitor::duration reactor_monitor::recent_max() const noexcept {
  const auto now = second_of(std::chrono::steady_clock::now());
  duration worst{};
  for (std::size_t i = 0; i < window_seconds; ++i)
    if (second_of_slot_[i] > now - static_cast<long long>(window_seconds))
      worst = std::max(worst, max_by_second_[i]);
  return worst;
}

asio::awaitable<void> reactor_monitor::sample() {
  while (!stopped_) {
    const auto due = std::chrono::steady_clock::now() + interval_;
    timer_.expires_at(due);
    auto [ec] = co_await timer_.async_wait(use_tuple);
    if (ec || stopped_) co_return;
    const auto woke = std::chrono::steady_clock::now();
    const auto lag = std::max(woke - due, duration::zero());
    metrics_.observe("offload_reactor_lag_seconds", {}, std::chrono::duration<double>(lag).count());
    const auto second = second_of(woke);
    auto& slot = second_of_slot_[static_cast<std::size_t>(second) % window_seconds];
    auto& worst = max_by_second_[static_cast<std::size_t>(second) % window_seconds];
    if (slot != second) {
      slot = second;
      worst = lag;
    } else {
      worst = std::max(worst, lag);
    }
  }
}

}  // namespace offload::core
