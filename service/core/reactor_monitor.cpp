// The lag sampler.
#include "core/reactor_monitor.hpp"

#include "core/logger.hpp"

#include <offload/asio_support.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace offload::core {

reactor_monitor::reactor_monitor(asio::any_io_executor reactor, metrics_registry& metrics, duration interval)
    : timer_(std::move(reactor)), metrics_(metrics), interval_(interval) {
  metrics_.declare("offload_reactor_lag_seconds",
                   "How late the reactor ran a timer due every 20 ms: what any ready handler waited.",
                   metrics_registry::kind::histogram,
                   {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1});
  metrics_.ensure("offload_reactor_lag_seconds", {});
}

void reactor_monitor::start() {
  asio::co_spawn(timer_.get_executor(), sample(), log_coroutine_failure("reactor monitor"));
}

void reactor_monitor::stop() {
  stopped_ = true;
  timer_.cancel();
}

reactor_monitor::duration reactor_monitor::recent_max() const noexcept {
  const auto now = max_by_second_.second_of(std::chrono::steady_clock::now());
  duration worst{};
  for (auto s = now - static_cast<long long>(window_seconds) + 1; s <= now; ++s)
    worst = std::max(worst, max_by_second_.get(s));
  return worst;
}

reactor_monitor::summary reactor_monitor::recent() const {
  const auto count = std::min(next_sample_, summary_samples);
  if (count == 0) return {};
  std::vector<duration> sorted(samples_.begin(), samples_.begin() + static_cast<std::ptrdiff_t>(count));
  const auto rank = [&](double q) {
    const auto at = sorted.begin() + static_cast<std::ptrdiff_t>(q * static_cast<double>(count - 1));
    std::nth_element(sorted.begin(), at, sorted.end());
    return *at;
  };
  summary out;
  out.samples = count;
  out.p50 = rank(0.5);
  out.p99 = rank(0.99);
  out.max = *std::max_element(sorted.begin(), sorted.end());
  return out;
}

std::vector<reactor_monitor::duration> reactor_monitor::max_per_second() const {
  return max_by_second_.last(trend_seconds, std::chrono::steady_clock::now());
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
    auto& worst = max_by_second_.at(max_by_second_.second_of(woke));
    worst = std::max(worst, lag);
    samples_[next_sample_++ % summary_samples] = lag;
  }
}

}  // namespace offload::core
